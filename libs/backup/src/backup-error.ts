import { assertNever, DomainError } from '@forecourt/core';

export enum BackupErrorCode {
  AlreadyRunning = 'backup.already_running',
  /** A restore into the live database whose confirmation does not repeat the tenant id. */
  ConfirmationDiffers = 'backup.confirmation_differs',
  /** The backup was taken at another schema version than the live database's. */
  SchemaVersionDiffers = 'backup.schema_version_differs',
  TenantNotInBackup = 'backup.tenant_not_in_backup',
  /** The tenant still has rows in the live database. */
  TenantPresent = 'backup.tenant_present',
  /** A row of the backup would take a unique value another row of the live database holds. */
  LiveConflict = 'backup.live_conflict',
  /** The live tables could not be locked in time. */
  LiveTablesBusy = 'backup.live_tables_busy',
}

export class BackupError extends DomainError<BackupErrorCode> {
  constructor(code: BackupErrorCode, message: string) {
    super(code, message);
  }

  get status(): number {
    switch (this.code) {
      case BackupErrorCode.ConfirmationDiffers:
        return 400;
      case BackupErrorCode.TenantNotInBackup:
        return 404;
      case BackupErrorCode.AlreadyRunning:
      case BackupErrorCode.SchemaVersionDiffers:
      case BackupErrorCode.TenantPresent:
      case BackupErrorCode.LiveConflict:
        return 409;
      case BackupErrorCode.LiveTablesBusy:
        return 503;
      default:
        return assertNever(this.code);
    }
  }
}
