export {
  BACKUP_FORMAT,
  type BackupEvent,
  type BackupHeader,
  BackupIntegrityError,
  type BackupManifest,
  BackupWriter,
  copyRows,
  readBackup,
  type TableDigest,
} from './backup-archive';
export {
  assertMatches,
  type MigrateTo,
  type RestoreReport,
  restoreSnapshot,
  tablesInLoadOrder,
  writeSnapshot,
} from './snapshot';
export { type BackupRecord, LocalBackups, type VerifyOutcome } from './local-backups';
export { restoreTenantIntoLive, type TenantRestoreReport } from './live-tenant-restore';
export { BackupError, BackupErrorCode } from './backup-error';
export { type ScratchDatabase, scratchDatabasePrefix, scratchDatabases } from './scratch-database';
export { type BackupRunSetup, BackupRuns, type RunOutcome, type StartedRun } from './backup-runs';
export { backupSetup, migrationsUpTo } from './backup-setup';
export { BackupModule } from './backup.module';
export { BACKUP_JOB, BackupSchedule } from './backup-schedule';
export { PlatformBackups } from './platform-backups';
export { OffsiteBackups } from './offsite-backups';
export { type BackupProgress, type BackupStage, type OnProgress, progressReporter } from './backup-progress';
