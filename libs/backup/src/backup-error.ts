import { assertNever, DomainError } from '@forecourt/core';

export enum BackupErrorCode {
  AlreadyRunning = 'backup.already_running',
}

export class BackupError extends DomainError<BackupErrorCode> {
  constructor(code: BackupErrorCode, message: string) {
    super(code, message);
  }

  get status(): number {
    switch (this.code) {
      case BackupErrorCode.AlreadyRunning:
        return 409;
      default:
        return assertNever(this.code);
    }
  }
}
