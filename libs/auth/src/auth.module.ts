import { Module } from '@nestjs/common';
import { MailModule } from '@forecourt/mail';
import { AuthAttempts } from './auth-attempts';
import { AuthController } from './auth.controller';
import { AuthEvents } from './auth-events';
import { AuthService } from './auth.service';
import { KeyStore } from './key-store';
import { PasswordHasher } from './password-hasher';
import { PlatformOwners } from './platform-owners';
import { SsoEnforcement } from './saml/sso-enforcement';
import { SessionCheckBeforeAnswer } from './session-check-before-answer';
import { SessionGuard } from './session.guard';
import { Sessions } from './sessions';

@Module({
  imports: [MailModule],
  controllers: [AuthController],
  providers: [
    SsoEnforcement,
    AuthAttempts,
    AuthService,
    AuthEvents,
    KeyStore,
    PasswordHasher,
    PlatformOwners,
    SessionGuard,
    Sessions,
    SessionCheckBeforeAnswer,
  ],
  exports: [
    AuthAttempts,
    AuthEvents,
    AuthService,
    KeyStore,
    PasswordHasher,
    PlatformOwners,
    SessionGuard,
    Sessions,
  ],
})
export class AuthModule {}
