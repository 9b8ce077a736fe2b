import { Module } from '@nestjs/common';
import { MailModule } from '@forecourt/mail';
import { AuthModule } from '../auth.module';
import { SamlConnectionController, SamlController } from './saml.controller';
import { SamlConnections } from './saml-connections';
import { SamlSignIn } from './saml-sign-in';
import { SsoAccounts } from './sso-accounts';
import { SsoCertificateWatch } from './sso-certificate-watch';
import { SsoTests } from './sso-tests';

/**
 * SAML single sign-on: each tenant's connection (managed by its dealer_admin) and the service
 * provider's endpoints. Apart from `AuthModule` because its routes need the HTTP app's access
 * guard; the password rule it adds (SSO-only mode) lives in `AuthModule`.
 */
@Module({
  imports: [AuthModule, MailModule],
  controllers: [SamlController, SamlConnectionController],
  providers: [SamlConnections, SamlSignIn, SsoAccounts, SsoTests, SsoCertificateWatch],
  exports: [SamlSignIn],
})
export class SamlModule {}
