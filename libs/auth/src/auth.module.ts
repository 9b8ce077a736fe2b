import { Module } from '@nestjs/common';
import { AuthAttempts } from './auth-attempts';
import { AuthController } from './auth.controller';
import { AuthEvents } from './auth-events';
import { AuthService } from './auth.service';
import { KeyStore } from './key-store';
import { PasswordHasher } from './password-hasher';
import { PlatformOwners } from './platform-owners';
import { SessionGuard } from './session.guard';
import { Sessions } from './sessions';

@Module({
  controllers: [AuthController],
  providers: [
    AuthAttempts,
    AuthService,
    AuthEvents,
    KeyStore,
    PasswordHasher,
    PlatformOwners,
    SessionGuard,
    Sessions,
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
