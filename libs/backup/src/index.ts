export {
  BACKUP_FORMAT,
  type BackupEvent,
  type BackupHeader,
  BackupIntegrityError,
  type BackupManifest,
  BackupWriter,
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
export { type ScratchDatabase, scratchDatabases } from './scratch-database';
