import { assertNever, DomainError } from '@forecourt/core';

export enum AccessErrorCode {
  Unauthenticated = 'access.unauthenticated',
  Forbidden = 'access.forbidden',
  NotFound = 'access.not_found',
  /** The tenant is read-only: its payment is overdue past the grace window. */
  ReadOnly = 'access.tenant_read_only',
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
      default:
        return assertNever(this.code);
    }
  }
}
