import { assertNever, DomainError } from '@forecourt/core';

export enum AuthErrorCode {
  InvalidCredentials = 'auth.invalid_credentials',
  InvalidMfaToken = 'auth.invalid_mfa_token',
  InvalidCode = 'auth.invalid_code',
  MfaAlreadyActive = 'auth.mfa_already_active',
  MfaNotEnrolled = 'auth.mfa_not_enrolled',
  Unauthenticated = 'auth.unauthenticated',
  WeakPassword = 'auth.weak_password',
  InvalidAccount = 'auth.invalid_account',
  AccountExists = 'auth.account_exists',
  RateLimited = 'auth.rate_limited',
  CsrfTokenMissing = 'auth.csrf_token_missing',
}

export class AuthError extends DomainError<AuthErrorCode> {
  constructor(
    code: AuthErrorCode,
    message: string,
    private readonly retryAfterSeconds?: number,
  ) {
    super(code, message);
  }

  override get headers(): Record<string, string> {
    return this.retryAfterSeconds === undefined ? {} : { 'retry-after': String(this.retryAfterSeconds) };
  }

  get status(): number {
    switch (this.code) {
      case AuthErrorCode.InvalidCredentials:
      case AuthErrorCode.InvalidMfaToken:
      case AuthErrorCode.InvalidCode:
      case AuthErrorCode.Unauthenticated:
        return 401;
      case AuthErrorCode.MfaAlreadyActive:
      case AuthErrorCode.MfaNotEnrolled:
      case AuthErrorCode.AccountExists:
        return 409;
      case AuthErrorCode.WeakPassword:
      case AuthErrorCode.InvalidAccount:
        return 400;
      case AuthErrorCode.RateLimited:
        return 429;
      case AuthErrorCode.CsrfTokenMissing:
        return 403;
      default:
        return assertNever(this.code);
    }
  }
}
