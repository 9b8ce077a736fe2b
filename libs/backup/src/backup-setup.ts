import { join } from 'node:path';
import type { AppConfig } from '@forecourt/config';
import { KeyWrapper, loadMasterKey } from '@forecourt/crypto';
import {
  EMBEDDED_OWNER_ROLE,
  migrateSchema,
  type MigrationClass,
  type OpenDatabase,
  postgresUrl,
} from '@forecourt/database';
import { S3ObjectDriver } from '@forecourt/storage';
import type { BackupRunSetup } from './backup-runs';
import { LocalBackups } from './local-backups';
import { OffsiteBackups } from './offsite-backups';
import { type ScratchDatabase, scratchDatabases } from './scratch-database';

/**
 * The backups of this deployment: its database, `DATA_DIR/backups`, its master key, and
 * `migrations` (the newest names the schema version; a restore replays them up to a backup's).
 */
export function backupSetup(
  config: AppConfig,
  database: OpenDatabase,
  migrations: MigrationClass[],
): BackupRunSetup {
  return {
    ownerUrl: database.ownerUrl,
    local: new LocalBackups(
      database.ownerUrl,
      new KeyWrapper(loadMasterKey(config)),
      join(config.dataDir, 'backups'),
    ),
    schemaVersion: migrations[migrations.length - 1]!.name,
    scratch: scratchFor(config, database),
    migrate: async (version, databaseUrl) => {
      await migrateSchema(databaseUrl, migrationsUpTo(migrations, version));
    },
    localRetentionMs: config.backupLocalRetentionHours * 3_600_000,
    offsite: config.backupStorage
      ? new OffsiteBackups(
          database.ownerUrl,
          new S3ObjectDriver(config.backupStorage, config.objectStorageOptions),
        )
      : null,
    offsiteRetentionMs: config.backupOffsiteRetentionDays * 86_400_000,
  };
}

/** The migrations up to and including `version`; throws for a version this build does not know. */
export function migrationsUpTo(migrations: MigrationClass[], version: string): MigrationClass[] {
  const upTo = migrations.findIndex((migration) => migration.name === version);
  if (upTo < 0) throw new Error(`the backup needs schema version ${version}, which this build does not know`);
  return migrations.slice(0, upTo + 1);
}

/**
 * Where backups are restored to be checked: `BACKUP_VERIFY_DATABASE_URL`'s role makes (and owns)
 * each scratch database; with the embedded server its superuser makes one for the schema owner;
 * otherwise nowhere (backups are then not checked, and say so).
 */
function scratchFor(
  config: AppConfig,
  database: OpenDatabase,
): ((backupId: string) => Promise<ScratchDatabase>) | null {
  if (config.backupVerifyDatabaseUrl) return scratchDatabases(config.backupVerifyDatabaseUrl);
  if (database.embedded) {
    const superuser = database.embedded.connectionConfig('postgres');
    return scratchDatabases(
      postgresUrl(superuser.host, superuser.port, superuser.user, superuser.password, 'postgres'),
      { role: EMBEDDED_OWNER_ROLE, url: database.ownerUrl },
    );
  }
  return null;
}
