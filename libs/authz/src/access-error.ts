import { assertNever, DomainError } from '@forecourt/core';

export enum AccessErrorCode {
  Unauthenticated = 'access.unauthenticated',
  Forbidden = 'access.forbidden',
  NotFound = 'access.not_found',
  /** The tenant is read-only: its payment is overdue past the grace window. */
  ReadOnly = 'access.tenant_read_only',
  /** The tenant is read-only: it was cancelled and its paid period is over (grace before deletion). */
  InGrace = 'access.tenant_in_grace',
}

export class AccessError extends DomainError<AccessErrorCode> {
  constructor(code: AccessErrorCode, message: string) {
    super(code, message);
  }

  get status(): number {
    switch (this.code) {
      case AccessErrorCode.Unauthenticated:
        return 401;
      case AccessErrorCode.Forbidden:
        return 403;
      case AccessErrorCode.NotFound:
        return 404;
      case AccessErrorCode.ReadOnly:
        return 402;
      case AccessErrorCode.InGrace:
        return 403;
      default:
        return assertNever(this.code);
    }
  }
}
