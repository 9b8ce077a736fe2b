import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ClientBase } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { KeyWrapper } from '@forecourt/crypto';
import { tablesInForeignKeyOrder } from '@forecourt/database';
import {
  type BackupEvent,
  type BackupHeader,
  BackupIntegrityError,
  type BackupManifest,
  type BackupWriter,
  copyRows,
  readBackup,
} from './backup-archive';
import { BackupError, BackupErrorCode } from './backup-error';
import { counted, type OnProgress } from './backup-progress';

/** The migrations' bookkeeping table: a restore rebuilds it by migrating, it is not copied. */
const NOT_COPIED = new Set(['schema_migrations']);

export const quoted = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The tables a backup holds, in foreign-key order (`schema_migrations` is the target's own). */
export async function tablesInLoadOrder(client: ClientBase): Promise<string[]> {
  return (await tablesInForeignKeyOrder(client)).filter((name) => !NOT_COPIED.has(name));
}

/**
 * Writes every table into `writer` from one snapshot: a `REPEATABLE READ, READ ONLY` transaction
 * on `client` (the schema owner, whom each table's `backup_read` policy lets read every row), each
 * table streamed with `COPY … TO STDOUT` — no pg_dump, the same on any PostgreSQL ≥ 15.
 */
export async function writeSnapshot(
  client: ClientBase,
  writer: BackupWriter,
  onProgress?: OnProgress,
): Promise<BackupManifest> {
  await client.query('begin isolation level repeatable read read only');
  try {
    await writer.begin();
    const tables = await tablesInLoadOrder(client);
    let bytes = 0;
    for (const [index, table] of tables.entries()) {
      const columns = await copiedColumns(client, table);
      const stream = client.query(
        copyTo(`copy ${quoted(table)} (${columns.map(quoted).join(', ')}) to stdout`),
      ) as AsyncIterable<Buffer>;
      const report = (tableDone: boolean) =>
        onProgress?.({
          table,
          tablesDone: index + (tableDone ? 1 : 0),
          tablesTotal: tables.length,
          bytes,
          tableDone,
        });
      await writer.table(
        table,
        columns,
        onProgress
          ? counted(stream, (length) => {
              bytes += length;
              report(false);
            })
          : stream,
      );
      report(true);
    }
    await client.query('commit');
  } catch (error) {
    writer.abort(error as Error);
    await client.query('rollback').catch(() => undefined);
    throw error;
  }
  return writer.finish();
}

/** The schema version a backup needs, read before anything is restored. */
export type MigrateTo = (schemaVersion: string) => Promise<void>;

export interface RestoreReport {
  header: BackupHeader;
  manifest: BackupManifest;
}

/**
 * Restores a backup into an empty database whose owner `client` is: `migrate` builds the schema
 * the backup was taken with, then every table is loaded in one transaction and read back; the
 * transaction commits only when the whole stream has authenticated and every table, read back
 * from the database, has the rows and hash the manifest names. A tampered or cut backup, or any
 * difference, leaves nothing committed.
 */
export async function restoreSnapshot(
  client: ClientBase,
  input: Readable,
  wrapper: KeyWrapper,
  backupId: string,
  migrate: MigrateTo,
  { tenantId, onProgress }: { tenantId?: string; onProgress?: OnProgress } = {},
): Promise<RestoreReport> {
  const events = readBackup(input, wrapper, backupId);
  const header = await readHeader(events);
  await migrate(header.schemaVersion);
  const tables = await tablesInLoadOrder(client);

  await client.query('begin');
  try {
    await emptyForLoad(client, tables);
    const { manifest, loaded } = await loadTables(events, {
      tablesTotal: tables.length,
      open: async (table, columns) => {
        const rows = tenantId ? tenantRows(tenantId, table, columns) : null;
        return rows === 'none' ? skippedLoad() : startLoad(client, table, columns, rows);
      },
      onLoaded: tenantId ? requireTenant(tenantId, backupId) : undefined,
      onProgress,
    });
    await continueSequences(client, tables);
    if (tenantId) {
      await withTableOpen(client, 'users', () => dropUnreferencedUsers(client, quoted));
      await assertRowsLoaded(client, loaded, () => null);
    } else {
      await assertMatches(client, manifest);
    }
    await client.query('commit');
    return { header, manifest };
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  }
}

/** The header, the first thing a backup holds (the first chunk authenticates it). */
export async function readHeader(events: AsyncGenerator<BackupEvent>): Promise<BackupHeader> {
  const first = await events.next();
  if (first.done || first.value.kind !== 'header') throw new BackupIntegrityError('the backup has no header');
  return first.value.header;
}

/** What one table took of a backup: its rows, and for a selection of them, the set they form. */
export interface LoadedRows {
  rows: number;
  /**
   * The rows kept, as a set (a single-tenant restore; empty for a table it leaves out); null when
   * every row was loaded as it came (a whole backup, checked against the manifest instead).
   */
  set: RowSet | null;
}

/** How {@link loadTables} loads a backup's tables. */
export interface TableLoading {
  tablesTotal: number;
  /** Where the rows of `table` go (`columns`: the backup's, in its order). */
  open: (table: string, columns: readonly string[]) => Promise<TableLoad>;
  /** Called as each table ends; may throw to stop the restore. */
  onLoaded?: (table: string, loaded: LoadedRows) => void;
  onProgress?: OnProgress;
}

/**
 * Feeds every table of the backup (after its header) into the loads `open` makes, to the end of
 * the stream; resolves with the manifest and what each table took, once the whole backup has
 * authenticated. A load still open when anything fails is abandoned (CopyFail) before the error
 * reaches the caller, who can then roll back.
 */
export async function loadTables(
  events: AsyncGenerator<BackupEvent>,
  { tablesTotal, open, onLoaded, onProgress }: TableLoading,
): Promise<{ manifest: BackupManifest; loaded: Map<string, LoadedRows> }> {
  let load: TableLoad | null = null;
  let table = '';
  let bytes = 0;
  const loaded = new Map<string, LoadedRows>();
  const report = (tableDone: boolean) =>
    onProgress?.({ table, tablesDone: loaded.size, tablesTotal, bytes, tableDone });
  try {
    let manifest: BackupManifest | null = null;
    for await (const event of events) {
      switch (event.kind) {
        case 'table':
          load = await open(event.name, event.columns);
          table = event.name;
          break;
        case 'data':
          await load!.write(event.bytes);
          bytes += event.bytes.length;
          report(false);
          break;
        case 'table-end': {
          const rows = await load!.end();
          load = null;
          loaded.set(event.digest.name, rows);
          onLoaded?.(event.digest.name, rows);
          report(true);
          break;
        }
        case 'manifest':
          manifest = event.manifest;
          break;
        case 'header':
          throw new BackupIntegrityError('a second header');
      }
    }
    if (!manifest) throw new BackupIntegrityError('the backup ends without its manifest');
    return { manifest, loaded };
  } catch (error) {
    // A COPY still open is abandoned first (CopyFail), or the connection could not roll back.
    await load?.abort(error as Error);
    throw error;
  }
}

/** Refuses, as soon as `tenants` has been read, a backup that does not hold tenant `tenantId`. */
export function requireTenant(
  tenantId: string,
  backupId: string,
): (table: string, loaded: LoadedRows) => void {
  return (table, loaded) => {
    if (table === 'tenants' && loaded.rows === 0)
      throw new BackupError(
        BackupErrorCode.TenantNotInBackup,
        `tenant ${tenantId} is not in backup ${backupId}`,
      );
  };
}

/**
 * Checks that every table to load is empty, then truncates them all in this transaction: a table
 * emptied in the loading transaction takes its rows strictly in the order they come (PostgreSQL
 * then skips the free-space map, which would otherwise put a later row into room left on an
 * earlier page), so the read-back check sees the backup's order. Refuses a database holding rows:
 * a restore fills an empty database, it never replaces one.
 */
async function emptyForLoad(client: ClientBase, tables: readonly string[]): Promise<void> {
  const { rows } = await client.query<{ name: string }>(
    `select relname as name from pg_class where relnamespace = 'public'::regnamespace and relforcerowsecurity`,
  );
  const forced = rows.map((row) => row.name).filter((name) => tables.includes(name));
  // The owner sees every row only with its row-level security lifted (for this transaction).
  for (const table of forced) await client.query(`alter table ${quoted(table)} no force row level security`);
  for (const table of tables) {
    const { rows: held } = await client.query(`select 1 from ${quoted(table)} limit 1`);
    if (held.length > 0)
      throw new BackupIntegrityError(
        `the target database is not empty (table ${table} holds rows): restore into an empty one`,
      );
  }
  // The append-only trail refuses TRUNCATE through its triggers, even on empty tables.
  for (const table of tables) await client.query(`alter table ${quoted(table)} disable trigger user`);
  await client.query(`truncate ${tables.map(quoted).join(', ')}`);
  for (const table of tables) await client.query(`alter table ${quoted(table)} enable trigger user`);
  for (const table of forced) await client.query(`alter table ${quoted(table)} force row level security`);
}

/** One table being loaded with `COPY … FROM STDIN`. */
export interface TableLoad {
  write(bytes: Buffer): Promise<void>;
  /** Ends the load; resolves with what it loaded. */
  end(): Promise<LoadedRows>;
  abort(error: Error): Promise<void>;
}

/** A table a single-tenant restore leaves out: its data is read (and authenticated) and dropped. */
export function skippedLoad(): TableLoad {
  return {
    write: async () => {},
    end: () => Promise.resolve({ rows: 0, set: new RowSet() }),
    abort: async () => {},
  };
}

/**
 * What a single-tenant restore keeps of one row of COPY text (its line, without the newline):
 * the line to load, possibly changed, or null to leave it out.
 */
export type RowSelection = (line: string) => string | null;

/** Global tables a single-tenant restore leaves out: sessions, platform keys, rate limits, … */
const TENANT_RESTORE_GLOBALS = new Set(['tenants', 'users']);

/**
 * Which rows of `table` belong to tenant `tenantId`: those with its `tenant_id`, its own row of
 * `tenants`, and every person (`users`) — of whom those its rows do not reference are dropped
 * before the end ({@link dropUnreferencedUsers}). A person's binding to another tenant's SSO
 * (`sso_tenant_id`) is that tenant's, and is left empty. Other global tables: nothing.
 */
export function tenantRows(
  tenantId: string,
  table: string,
  columns: readonly string[],
): RowSelection | 'none' {
  const tenantColumn = columns.indexOf('tenant_id');
  if (tenantColumn >= 0) return (line) => (line.split('\t')[tenantColumn] === tenantId ? line : null);
  if (!TENANT_RESTORE_GLOBALS.has(table)) return 'none';
  if (table === 'tenants') {
    const id = columns.indexOf('id');
    return (line) => (line.split('\t')[id] === tenantId ? line : null);
  }
  const ssoTenant = columns.indexOf('sso_tenant_id');
  if (ssoTenant < 0) return (line) => line;
  return (line) => {
    const fields = line.split('\t');
    if (fields[ssoTenant] !== tenantId) fields[ssoTenant] = '\\N';
    return fields.join('\t');
  };
}

/**
 * Removes the people no restored row references (through any foreign key to `users`): a
 * single-tenant restore loads every person first, since people load before the rows naming them.
 * `relationOf` names where each table's restored rows are (null: the table took none), people
 * included.
 */
export async function dropUnreferencedUsers(
  client: ClientBase,
  relationOf: (table: string) => string | null,
): Promise<void> {
  const { rows } = await client.query<{ table: string; pairs: [string, string][] }>(`
    select c.relname as table,
      array(select array[a.attname, r.attname]::text[]
              from unnest(k.conkey, k.confkey) as p(referencing, referenced)
              join pg_attribute a on a.attrelid = k.conrelid and a.attnum = p.referencing
              join pg_attribute r on r.attrelid = k.confrelid and r.attnum = p.referenced) as pairs
    from pg_constraint k join pg_class c on c.oid = k.conrelid
    where k.contype = 'f' and k.confrelid = 'users'::regclass and k.conrelid <> k.confrelid`);
  const referenced = rows.flatMap(({ table, pairs }) => {
    const relation = relationOf(table);
    if (!relation) return [];
    const match = pairs.map(([column, target]) => `t.${quoted(column)} = u.${quoted(target)}`).join(' and ');
    return [`exists (select 1 from ${relation} t where ${match})`];
  });
  const users = relationOf('users');
  if (!users) return;
  await client.query(`delete from ${users} u where not (${referenced.join(' or ') || 'false'})`);
}

/**
 * Runs `work` on `table` with its row-level security and its own triggers set aside (the owner
 * may; both come back before the transaction ends).
 */
async function withTableOpen(client: ClientBase, table: string, work: () => Promise<void>): Promise<void> {
  await client.query(`alter table ${quoted(table)} no force row level security`);
  await client.query(`alter table ${quoted(table)} disable trigger user`);
  await work();
  await client.query(`alter table ${quoted(table)} enable trigger user`);
  await client.query(`alter table ${quoted(table)} force row level security`);
}

/**
 * Each of the `loaded` tables holds exactly the rows selected for it, read back from the database
 * as a set — all its rows, or those `where` names (SQL; null: all) — but `users`, where a restore
 * drops or keeps people after the load. A table loaded whole is left to the manifest's check.
 */
export async function assertRowsLoaded(
  client: ClientBase,
  loaded: Iterable<[string, LoadedRows]>,
  where: (table: string) => string | null,
): Promise<void> {
  for (const [table, expected] of loaded) {
    if (table === 'users' || !expected.set) continue;
    const found = await readBackRows(client, table, where(table));
    if (found.rows !== expected.rows || found.digest !== expected.set.digest)
      throw new BackupIntegrityError(
        `table ${table}: read back ${found.rows} rows (set digest ${found.digest.slice(0, 12)}…) ` +
          `where ${expected.rows} were loaded (set digest ${expected.set.digest.slice(0, 12)}…)`,
      );
  }
}

const DIGEST_MASK = (1n << 256n) - 1n;

/**
 * Rows of COPY text as a set, whatever order they come in: their count and the sum of every
 * row's SHA-256, modulo 2^256. A single-tenant restore reads its rows back from tables that may
 * hold other rows too (the live database), which return them in another order than they were
 * loaded; a hash of the stream in order could not be compared.
 */
export class RowSet {
  private count = 0;
  private sum = 0n;

  /** One row: its line, without the newline. */
  add(line: string | Buffer): void {
    this.count += 1;
    this.sum = (this.sum + BigInt(`0x${createHash('sha256').update(line).digest('hex')}`)) & DIGEST_MASK;
  }

  get rows(): number {
    return this.count;
  }

  get digest(): string {
    return this.sum.toString(16).padStart(64, '0');
  }
}

/** The rows of `table` (those `where` names, or all) as {@link RowSet}, read with `COPY`. */
async function readBackRows(client: ClientBase, table: string, where: string | null): Promise<RowSet> {
  const columns = (await copiedColumns(client, table)).map(quoted).join(', ');
  const stream = client.query(
    copyTo(`copy (select ${columns} from ${quoted(table)}${where ? ` where ${where}` : ''}) to stdout`),
  );
  const set = new RowSet();
  let partial = Buffer.alloc(0);
  await pipeline(stream, async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) {
      const joined = partial.length > 0 ? Buffer.concat([partial, chunk]) : chunk;
      let from = 0;
      for (let at = joined.indexOf(0x0a); at !== -1; at = joined.indexOf(0x0a, from)) {
        set.add(joined.subarray(from, at));
        from = at + 1;
      }
      partial = Buffer.from(joined.subarray(from));
    }
  });
  if (partial.length > 0) throw new BackupIntegrityError(`table ${table}: read back a row without its end`);
  return set;
}

/**
 * Opens `COPY … FROM STDIN` of `table`'s rows into `into` (the table itself unless named: a
 * staging table), with its row-level security and its own triggers set aside for the load (the
 * owner may; both come back before the transaction ends): the rows were checked when they were
 * first written, and an append-only trigger would refuse a sealed audit event. With `select`,
 * only the rows it keeps, which the load also gathers as a {@link RowSet} for the read-back.
 */
export async function startLoad(
  client: ClientBase,
  table: string,
  columns: readonly string[],
  select: RowSelection | null = null,
  into: string = quoted(table),
): Promise<TableLoad> {
  const { rows } = await client.query<{ forced: boolean }>(
    `select relforcerowsecurity as forced from pg_class where oid = $1::regclass`,
    [into],
  );
  if (!rows[0]) throw new BackupIntegrityError(`table ${table} does not exist in the restored schema`);
  const forced = rows[0].forced;
  if (forced) await client.query(`alter table ${into} no force row level security`);
  await client.query(`alter table ${into} disable trigger user`);
  const here = await copiedColumns(client, table);
  if (here.join() !== columns.join()) {
    throw new BackupIntegrityError(`table ${table}: the restored schema has other columns than the backup`);
  }
  const copy = client.query(copyFrom(`copy ${into} (${columns.map(quoted).join(', ')}) from stdin`));
  const finished = new Promise<void>((resolve, reject) => {
    copy.once('finish', resolve);
    copy.once('error', (error: Error) =>
      reject(new Error(`restoring table ${table}: ${error.message}`, { cause: error })),
    );
  });
  finished.catch(() => undefined);
  const send = async (bytes: Buffer) => {
    if (!copy.write(bytes)) {
      await Promise.race([new Promise((resolve) => copy.once('drain', resolve)), finished]);
    }
  };
  let sent = 0;
  const set = select ? new RowSet() : null;
  // COPY text is one row per line; pieces may cut a row (or a character), so the selection sees
  // whole lines, cut at newline bytes (never inside a UTF-8 character).
  let partial = Buffer.alloc(0);
  return {
    write: async (bytes) => {
      if (!select) {
        sent += copyRows(bytes);
        return send(bytes);
      }
      const joined = partial.length > 0 ? Buffer.concat([partial, bytes]) : bytes;
      const cut = joined.lastIndexOf(0x0a) + 1;
      partial = Buffer.from(joined.subarray(cut));
      if (cut === 0) return;
      const lines = joined
        .subarray(0, cut - 1)
        .toString('utf8')
        .split('\n');
      const kept = lines.map(select).filter((line): line is string => line !== null);
      for (const line of kept) set!.add(line);
      sent += kept.length;
      if (kept.length > 0) await send(Buffer.from(`${kept.join('\n')}\n`, 'utf8'));
    },
    end: async () => {
      if (partial.length > 0) throw new BackupIntegrityError(`table ${table}: its data ends inside a row`);
      copy.end();
      await finished;
      // Statistics for the rows just loaded: the foreign-key checks of the tables loaded after
      // this one are planned on them, and on a table believed empty they would scan it whole for
      // every row they check.
      await client.query(`analyze ${into}`);
      await client.query(`alter table ${into} enable trigger user`);
      if (forced) await client.query(`alter table ${into} force row level security`);
      return { rows: sent, set };
    },
    abort: async (error) => {
      copy.destroy(error);
      await finished.catch(() => undefined);
    },
  };
}

/** The columns a backup carries: every stored one, in order; generated columns are computed again. */
export async function copiedColumns(client: ClientBase, table: string): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `select attname as name from pg_attribute
      where attrelid = $1::regclass and attnum > 0 and not attisdropped and attgenerated = ''
      order by attnum`,
    [quoted(table)],
  );
  return rows.map((row) => row.name);
}

/**
 * Identity and serial sequences of `tables` continue after the highest value they hold, and never
 * go back: a sequence already past it (rows since deleted) stays where it is.
 */
export async function continueSequences(client: ClientBase, tables: readonly string[]): Promise<void> {
  const { rows } = await client.query<{ table: string; column: string; sequence: string }>(`
    select c.relname as table, a.attname as column, pg_get_serial_sequence(quote_ident(c.relname), a.attname) as sequence
    from pg_attribute a join pg_class c on c.oid = a.attrelid
    where c.relnamespace = 'public'::regnamespace and c.relkind = 'r' and a.attnum > 0 and not a.attisdropped
      and pg_get_serial_sequence(quote_ident(c.relname), a.attname) is not null`);
  for (const row of rows.filter((candidate) => tables.includes(candidate.table))) {
    await client.query(
      `select setval($1, greatest(coalesce((select max(${quoted(row.column)}) from ${quoted(row.table)}), 0) + 1,
         nextval($1)), false)`,
      [row.sequence],
    );
  }
}

/** Reads every table back and compares rows and hash with the manifest. */
export async function assertMatches(client: ClientBase, manifest: BackupManifest): Promise<void> {
  // Each table is read from its first page, in the order it was loaded: a synchronised scan may
  // otherwise start where another scan of the table last was, and the same rows would come back
  // rotated — and hash differently.
  await client.query('set local synchronize_seqscans = off');
  for (const expected of manifest.tables) {
    const hash = createHash('sha256');
    let rows = 0;
    let bytes = 0;
    const columns = await copiedColumns(client, expected.name);
    const stream = client.query(
      copyTo(`copy ${quoted(expected.name)} (${columns.map(quoted).join(', ')}) to stdout`),
    );
    await pipeline(stream, async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) {
        hash.update(chunk);
        bytes += chunk.length;
        rows += copyRows(chunk);
      }
    });
    const sha256 = hash.digest('hex');
    if (rows !== expected.rows || bytes !== expected.bytes || sha256 !== expected.sha256) {
      throw new BackupIntegrityError(
        `table ${expected.name}: read back ${rows} rows, ${bytes} bytes, SHA-256 ${sha256.slice(0, 12)}…, ` +
          `where the backup holds ${expected.rows} rows, ${expected.bytes} bytes, SHA-256 ${expected.sha256.slice(0, 12)}…`,
      );
    }
  }
}
