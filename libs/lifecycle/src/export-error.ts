import { assertNever, DomainError } from '@forecourt/core';

export enum ExportErrorCode {
  NotFound = 'export.not_found',
  NotReady = 'export.not_ready',
  Expired = 'export.expired',
}

export class ExportError extends DomainError<ExportErrorCode> {
  constructor(code: ExportErrorCode, message: string) {
    super(code, message);
  }

  get status(): number {
    switch (this.code) {
      case ExportErrorCode.NotFound:
        return 404;
      case ExportErrorCode.NotReady:
        return 409;
      case ExportErrorCode.Expired:
        return 410;
      default:
        return assertNever(this.code);
    }
  }
}
