import { assertNever, DomainError } from '@forecourt/core';

export enum SamlErrorCode {
  InvalidConnection = 'sso.invalid_connection',
  NotConfigured = 'sso.not_configured',
  UnknownConnection = 'sso.unknown_connection',
  Rejected = 'sso.rejected',
  NotMapped = 'sso.not_mapped',
  AccountConflict = 'sso.account_conflict',
  SsoOnly = 'sso.sso_only',
}

/**
 * A refused SSO configuration or sign-in. A refused response's message is what an admin can act
 * on (wrong audience, expired assertion, unknown certificate, replayed response); the log holds
 * the library's full reason, and neither ever holds the assertion.
 */
export class SamlError extends DomainError<SamlErrorCode> {
  constructor(code: SamlErrorCode, message: string) {
    super(code, message);
  }

  get status(): number {
    switch (this.code) {
      case SamlErrorCode.InvalidConnection:
        return 400;
      case SamlErrorCode.NotConfigured:
      case SamlErrorCode.UnknownConnection:
        return 404;
      case SamlErrorCode.Rejected:
      case SamlErrorCode.NotMapped:
      case SamlErrorCode.SsoOnly:
        return 401;
      case SamlErrorCode.AccountConflict:
        return 409;
      default:
        return assertNever(this.code);
    }
  }
}
