import { Client } from 'pg';
import { DataSource, MigrationInterface } from 'typeorm';

export type MigrationClass = new () => MigrationInterface;

export const MIGRATIONS_TABLE = 'schema_migrations';

/** Serialises migrations across instances that start at the same moment. */
const MIGRATION_LOCK_KEY = 4_212_202_611;

/**
 * Brings the schema up to date as the schema owner, one transaction per migration, holding an
 * advisory lock so concurrent starters wait instead of racing. Returns the names it applied.
 */
export async function migrateSchema(ownerUrl: string, migrations: MigrationClass[]): Promise<string[]> {
  const lock = new Client({ connectionString: ownerUrl });
  await lock.connect();
  try {
    await lock.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const dataSource = new DataSource({
      type: 'postgres',
      url: ownerUrl,
      migrations,
      migrationsTableName: MIGRATIONS_TABLE,
      migrationsTransactionMode: 'each',
      synchronize: false,
      installExtensions: false,
      logging: false,
    });
    await dataSource.initialize();
    try {
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      return applied.map((migration) => migration.name);
    } finally {
      await dataSource.destroy();
    }
  } finally {
    await lock.end();
  }
}

/** Names of the known migrations that the database has not applied yet. */
export async function pendingMigrations(
  query: (sql: string) => Promise<{ name: string }[]>,
  migrations: MigrationClass[],
): Promise<string[]> {
  const applied = new Set((await query(`select name from ${MIGRATIONS_TABLE}`)).map((row) => row.name));
  return migrations
    .map((migration) => new migration().name ?? migration.name)
    .filter((name) => !applied.has(name));
}
