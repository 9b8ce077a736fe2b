import { assertNever, DomainError } from '@forecourt/core';

export enum AccessErrorCode {
  Unauthenticated = 'access.unauthenticated',
  Forbidden = 'access.forbidden',
  NotFound = 'access.not_found',
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
      default:
        return assertNever(this.code);
    }
  }
}
