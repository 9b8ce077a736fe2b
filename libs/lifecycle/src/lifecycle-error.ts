import { assertNever, DomainError } from '@forecourt/core';

export enum LifecycleErrorCode {
  NoTenant = 'lifecycle.no_tenant',
  NotCancelled = 'lifecycle.not_cancelled',
  GraceOver = 'lifecycle.grace_over',
  NotCancellable = 'lifecycle.not_cancellable',
  NoDeletion = 'lifecycle.no_deletion',
  ConfirmationMismatch = 'lifecycle.confirmation_mismatch',
  DeletionRunning = 'lifecycle.deletion_running',
}

export class LifecycleError extends DomainError<LifecycleErrorCode> {
  constructor(code: LifecycleErrorCode, message: string) {
    super(code, message);
  }

  get status(): number {
    switch (this.code) {
      case LifecycleErrorCode.NoTenant:
      case LifecycleErrorCode.NoDeletion:
        return 404;
      case LifecycleErrorCode.NotCancelled:
      case LifecycleErrorCode.GraceOver:
      case LifecycleErrorCode.NotCancellable:
      case LifecycleErrorCode.DeletionRunning:
        return 409;
      case LifecycleErrorCode.ConfirmationMismatch:
        return 400;
      default:
        return assertNever(this.code);
    }
  }
}
