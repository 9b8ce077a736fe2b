import type { Readable } from 'node:stream';
import { type ClientBase, DatabaseError, escapeLiteral } from 'pg';
import { appendToChains } from '@forecourt/audit';
import { isUuid } from '@forecourt/core';
import { tablesWithTenantId } from '@forecourt/database';
import type { KeyWrapper } from '@forecourt/crypto';
import { readBackup } from './backup-archive';
import { BackupError, BackupErrorCode } from './backup-error';
import type { OnProgress } from './backup-progress';
import {
  assertRowsLoaded,
  continueSequences,
  copiedColumns,
  dropUnreferencedUsers,
  loadTables,
  quoted,
  readHeader,
  requireTenant,
  type RestoreReport,
  skippedLoad,
  startLoad,
  tablesInLoadOrder,
  tenantRows,
} from './snapshot';

/**
 * The audit trail's tables, which a restore into the live database leaves as they are. The trail
 * is append-only for everyone, so the live database still holds the tenant's chain — all the
 * backup holds of it, and what came after. Its events brought back would be there twice, and a
 * chain head or checkpoint of the backup's time would not be the live chain's.
 */
const AUDIT_TRAIL = new Set(['audit_events', 'audit_heads', 'audit_checkpoints']);

/**
 * How long the move into the live tables waits for their locks before it gives up: while it
 * waits, the API's queries of a table queue behind it.
 */
const LOCK_TIMEOUT = '5s';

export interface TenantRestoreReport extends RestoreReport {
  /** Rows restored, per table in load order (`users`: the people added). */
  rows: Record<string, number>;
  /** People the tenant's rows name who were in the live database already, kept as they were. */
  peopleKept: number;
}

/**
 * Restores tenant `tenantId` of a backup into the live database whose schema owner `client` is,
 * for a tenant wholly absent from it — refused unless `confirmTenantId` repeats the tenant id,
 * the backup was taken at the live schema version, and the backup holds the tenant.
 *
 * One transaction. The whole backup is read and authenticated first, the tenant's rows (and every
 * person) copied into temporary staging tables as the scratch restore selects them; no live table
 * is touched until the stream has ended. Then, holding the live tables' locks (at most
 * {@link LOCK_TIMEOUT} of waiting), it checks again that the tenant is absent and that no person
 * of the backup takes an e-mail another live person holds, inserts the rows in foreign-key order
 * (people already there by id are kept as they are), reads them back as sets against what the
 * stream held, and records `backup.tenant_restored` in the tenant's chain and the platform's.
 * Any refusal or failure, a tampered or cut backup included, leaves nothing committed.
 */
export async function restoreTenantIntoLive(
  client: ClientBase,
  input: Readable,
  wrapper: KeyWrapper,
  backupId: string,
  {
    tenantId,
    confirmTenantId,
    onProgress,
  }: { tenantId: string; confirmTenantId: string | undefined; onProgress?: OnProgress },
): Promise<TenantRestoreReport> {
  const tenant = tenantId.toLowerCase();
  if (!isUuid(tenant)) {
    input.destroy();
    throw new Error('the tenant to restore must be named by its id (a UUID)');
  }
  if (confirmTenantId?.toLowerCase() !== tenant) {
    input.destroy();
    throw new BackupError(
      BackupErrorCode.ConfirmationDiffers,
      'the confirmation does not repeat the tenant id: nothing was restored',
    );
  }
  const events = readBackup(input, wrapper, backupId);
  const header = await readHeader(events);
  const liveVersion = await liveSchemaVersion(client);
  if (header.schemaVersion !== liveVersion) {
    input.destroy();
    throw new BackupError(
      BackupErrorCode.SchemaVersionDiffers,
      `backup ${backupId} was taken at schema version ${header.schemaVersion}, the live database is at ` +
        `${liveVersion}: restore it into a scratch database (--database-url) instead`,
    );
  }
  const tables = await tablesInLoadOrder(client);
  const owned = await tenantOwnedTables(client, tables);

  await client.query('begin');
  const staged = new Map<string, string>();
  try {
    // Early, so a refusal does not wait for the whole backup; checked again under the locks.
    await assertTenantAbsent(client, tenant, owned);
    const { manifest, loaded } = await loadTables(events, {
      tablesTotal: tables.length,
      open: async (table, columns) => {
        const rows = AUDIT_TRAIL.has(table) ? 'none' : tenantRows(tenant, table, columns);
        if (rows === 'none') return skippedLoad();
        const into = await stagingTable(client, table);
        staged.set(table, into);
        return startLoad(client, table, columns, rows, into);
      },
      onLoaded: requireTenant(tenant, backupId),
      onProgress,
    });
    await dropUnreferencedUsers(client, (table) => staged.get(table) ?? null);
    const order = tables.filter((table) => staged.has(table));
    const moved = await moveIntoLive(client, tenant, order, staged, owned);
    const literal = escapeLiteral(tenant);
    await assertRowsLoaded(
      client,
      order.map((table) => [table, loaded.get(table)!]),
      (table) => (table === 'tenants' ? `id = ${literal}` : `tenant_id = ${literal}`),
    );
    await continueSequences(client, order);
    const counts = order.map((table) => `${table} ${moved.rows[table]}`).join(', ');
    await appendToChains((sql, params) => client.query(sql, params), [tenant, null], null, {
      action: 'backup.tenant_restored',
      subjectType: 'Tenant',
      subjectId: tenant,
      reason: `backup ${backupId}; rows: ${counts}; people kept: ${moved.peopleKept}`,
    });
    await client.query('commit');
    return { header, manifest, ...moved };
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  }
}

/** The live database's last migration. */
async function liveSchemaVersion(client: ClientBase): Promise<string> {
  const { rows } = await client.query<{ name: string }>(
    `select name from schema_migrations order by timestamp desc, id desc limit 1`,
  );
  if (!rows[0]) throw new Error('the live database has no migration recorded');
  return rows[0].name;
}

/** The tables of `tables` that hold tenants' rows (a `tenant_id`), the audit trail's aside. */
async function tenantOwnedTables(client: ClientBase, tables: readonly string[]): Promise<string[]> {
  const withTenant = await tablesWithTenantId(client);
  return tables.filter((table) => withTenant.has(table) && !AUDIT_TRAIL.has(table));
}

/**
 * Refuses a tenant that has any row in the live database: its `tenants` row (even with nothing
 * else: a restore into the live database adds, it never replaces) or a row of any table that
 * holds tenants' rows. The audit trail does not count: it keeps every tenant's chain for good.
 */
async function assertTenantAbsent(
  client: ClientBase,
  tenant: string,
  owned: readonly string[],
): Promise<void> {
  for (const table of ['tenants', ...owned]) {
    const column = table === 'tenants' ? 'id' : 'tenant_id';
    const { rows } = await client.query<{ held: boolean }>(
      `select exists (select 1 from ${quoted(table)} where ${quoted(column)} = $1) as held`,
      [tenant],
    );
    if (rows[0]?.held)
      throw new BackupError(
        BackupErrorCode.TenantPresent,
        `tenant ${tenant} still has rows in the live database (table ${table}): only a tenant wholly absent ` +
          'from it is restored there; restore into a scratch database (--database-url) and copy what is needed',
      );
  }
}

/**
 * A temporary table (dropped at the end of the transaction) for the rows of `table` a restore
 * stages: its stored columns, no constraint, no trigger, no row-level security. Returns its name,
 * quoted.
 */
async function stagingTable(client: ClientBase, table: string): Promise<string> {
  const into = `pg_temp.${quoted(`restore_${table}`)}`;
  const columns = (await copiedColumns(client, table)).map(quoted).join(', ');
  await client.query(
    `create temp table ${into} on commit drop as select ${columns} from ${quoted(table)} with no data`,
  );
  return into;
}

/**
 * Moves the staged rows into the live tables of `order` (foreign-key order), holding their locks:
 * the tenant is checked absent again (nothing can add its rows now: each needs its `tenants` row,
 * which is locked), then the unique values a person or the tenant shares with the live database;
 * people already there by id are kept as they are, the others added without a platform role.
 * Each table's row-level security is lifted for the inserts only (the owner may; forced again
 * before the transaction ends); the tables' triggers run, as for any insert.
 */
async function moveIntoLive(
  client: ClientBase,
  tenant: string,
  order: readonly string[],
  staged: ReadonlyMap<string, string>,
  owned: readonly string[],
): Promise<{ rows: Record<string, number>; peopleKept: number }> {
  await client.query(`set local lock_timeout = '${LOCK_TIMEOUT}'`);
  try {
    await client.query(`lock table ${order.map(quoted).join(', ')} in access exclusive mode`);
  } catch (error) {
    if (error instanceof DatabaseError && error.code === '55P03')
      throw new BackupError(
        BackupErrorCode.LiveTablesBusy,
        `the live tables could not be locked within ${LOCK_TIMEOUT} (a long transaction or a backup holds them): ` +
          'nothing was restored; try again',
      );
    throw error;
  }
  await assertTenantAbsent(client, tenant, owned);
  await refuseLiveConflicts(client, staged);
  const people = staged.get('users');
  if (people) {
    // A platform role is the platform's to give, not the tenant's: a person brought back by a
    // tenant's restore gets the memberships of the tenant's rows and nothing more.
    await client.query(`update ${people} set platform_role = null`);
  }

  for (const table of order) await client.query(`alter table ${quoted(table)} no force row level security`);
  const rows: Record<string, number> = {};
  let peopleKept = 0;
  for (const table of order) {
    const columns = (await copiedColumns(client, table)).map(quoted).join(', ');
    const fresh = table === 'users' ? ` where not exists (select 1 from users l where l.id = s.id)` : '';
    try {
      const inserted = await client.query(
        `insert into ${quoted(table)} (${columns}) select ${columns} from ${staged.get(table)} s${fresh}`,
      );
      rows[table] = inserted.rowCount ?? 0;
    } catch (error) {
      // The message only: a constraint's detail would quote the row's values.
      throw new Error(`restoring table ${table} into the live database: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (table === 'users') {
      const { rows: all } = await client.query<{ n: number }>(`select count(*)::int as n from ${people}`);
      peopleKept = all[0]!.n - rows[table];
    }
  }
  for (const table of order) await client.query(`alter table ${quoted(table)} force row level security`);
  return { rows, peopleKept };
}

/**
 * Refuses a person of the backup whose e-mail another person (another id) holds in the live
 * database, and a tenant whose slug another tenant holds: the message names the column, never
 * the value.
 */
async function refuseLiveConflicts(client: ClientBase, staged: ReadonlyMap<string, string>): Promise<void> {
  const unique = [
    { table: 'users', column: 'email', what: 'a person of the backup has an e-mail address another person' },
    { table: 'tenants', column: 'slug', what: 'the tenant has a slug another tenant' },
  ];
  for (const { table, column, what } of unique) {
    const from = staged.get(table);
    if (!from) continue;
    const { rows } = await client.query<{ taken: boolean }>(
      `select exists (select 1 from ${from} s join ${quoted(table)} l on l.${quoted(column)} = s.${quoted(column)}
                       where l.id <> s.id) as taken`,
    );
    if (rows[0]?.taken)
      throw new BackupError(
        BackupErrorCode.LiveConflict,
        `table ${table}, column ${column}: ${what} holds in the live database; nothing was restored`,
      );
  }
}
