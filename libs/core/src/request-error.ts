import { assertNever, DomainError } from './domain-error';

export enum RequestErrorCode {
  BadCursor = 'request.bad_cursor',
  InvalidQuery = 'request.invalid_query',
}

/** Request-level problems no particular library owns. */
export class RequestError extends DomainError<RequestErrorCode> {
  constructor(code: RequestErrorCode, message: string) {
    super(code, message);
  }

  get status(): number {
    switch (this.code) {
      case RequestErrorCode.BadCursor:
      case RequestErrorCode.InvalidQuery:
        return 400;
      default:
        return assertNever(this.code);
    }
  }
}
