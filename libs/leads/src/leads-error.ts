import { assertNever, DomainError } from '@forecourt/core';

export enum LeadsErrorCode {
  CustomerNotFound = 'leads.customer_not_found',
  UnknownStore = 'leads.unknown_store',
  InvalidPhone = 'leads.invalid_phone',
  InvalidSensitive = 'leads.invalid_sensitive',
  Required = 'leads.required',
}

export class LeadsError extends DomainError<LeadsErrorCode> {
  constructor(code: LeadsErrorCode, message: string) {
    super(code, message);
  }

  get status(): number {
    switch (this.code) {
      case LeadsErrorCode.CustomerNotFound:
        return 404;
      case LeadsErrorCode.UnknownStore:
      case LeadsErrorCode.InvalidPhone:
      case LeadsErrorCode.InvalidSensitive:
      case LeadsErrorCode.Required:
        return 400;
      default:
        return assertNever(this.code);
    }
  }
}
