import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ClientBase } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { KeyWrapper } from '@forecourt/crypto';
import {
  type BackupHeader,
  BackupIntegrityError,
  type BackupManifest,
  type BackupWriter,
  copyRows,
  readBackup,
} from './backup-archive';

/** The migrations' bookkeeping table: a restore rebuilds it by migrating, it is not copied. */
const NOT_COPIED = new Set(['schema_migrations']);

const quoted = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * The tables of the public schema in foreign-key order (a table after every table it
 * references), so a restore can load them one after the other with every constraint checked.
 */
export async function tablesInLoadOrder(client: ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ name: string; references: string[] }>(`
    select c.relname as name,
      array(select distinct r.relname from pg_constraint k join pg_class r on r.oid = k.confrelid
             where k.conrelid = c.oid and k.contype = 'f' and k.confrelid <> c.oid)::text[] as references
    from pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
    order by c.relname`);
  const pending = new Map(
    rows.filter((row) => !NOT_COPIED.has(row.name)).map((row) => [row.name, row.references]),
  );
  const ordered: string[] = [];
  while (pending.size > 0) {
    const ready = [...pending].filter(([, references]) => references.every((name) => !pending.has(name)));
    if (ready.length === 0)
      throw new Error(`foreign keys form a cycle among ${[...pending.keys()].join(', ')}`);
    for (const [name] of ready) {
      ordered.push(name);
      pending.delete(name);
    }
  }
  return ordered;
}

/**
 * Writes every table into `writer` from one snapshot: a `REPEATABLE READ, READ ONLY` transaction
 * on `client` (the schema owner, whom each table's `backup_read` policy lets read every row), each
 * table streamed with `COPY … TO STDOUT` — no pg_dump, the same on any PostgreSQL ≥ 15.
 */
export async function writeSnapshot(client: ClientBase, writer: BackupWriter): Promise<BackupManifest> {
  await client.query('begin isolation level repeatable read read only');
  try {
    await writer.begin();
    for (const table of await tablesInLoadOrder(client)) {
      const columns = await copiedColumns(client, table);
      const stream = client.query(
        copyTo(`copy ${quoted(table)} (${columns.map(quoted).join(', ')}) to stdout`),
      );
      await writer.table(table, columns, stream as AsyncIterable<Buffer>);
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
): Promise<RestoreReport> {
  const events = readBackup(input, wrapper, backupId);
  const first = await events.next();
  if (first.done || first.value.kind !== 'header') throw new BackupIntegrityError('the backup has no header');
  const header = first.value.header;
  await migrate(header.schemaVersion);

  await client.query('begin');
  let load: TableLoad | null = null;
  try {
    let manifest: BackupManifest | null = null;
    for await (const event of events) {
      switch (event.kind) {
        case 'table':
          load = await startLoad(client, event.name, event.columns);
          break;
        case 'data':
          await load!.write(event.bytes);
          break;
        case 'table-end':
          await load!.end();
          load = null;
          break;
        case 'manifest':
          manifest = event.manifest;
          break;
        case 'header':
          throw new BackupIntegrityError('a second header');
      }
    }
    if (!manifest) throw new BackupIntegrityError('the backup ends without its manifest');
    await resetSequences(client);
    await assertMatches(client, manifest);
    await client.query('commit');
    return { header, manifest };
  } catch (error) {
    // A COPY still open is abandoned first (CopyFail), or the connection could not roll back.
    await load?.abort(error as Error);
    await client.query('rollback').catch(() => undefined);
    throw error;
  }
}

/** One table being loaded with `COPY … FROM STDIN`. */
interface TableLoad {
  write(bytes: Buffer): Promise<void>;
  end(): Promise<void>;
  abort(error: Error): Promise<void>;
}

/**
 * Opens `COPY … FROM STDIN` into `table` with its row-level security and its own triggers set
 * aside for the load (the owner may; both come back before the transaction ends): the rows were
 * checked when they were first written, and an append-only trigger would refuse a sealed audit
 * event.
 */
async function startLoad(client: ClientBase, table: string, columns: readonly string[]): Promise<TableLoad> {
  const { rows } = await client.query<{ forced: boolean }>(
    `select relforcerowsecurity as forced from pg_class where oid = $1::regclass`,
    [quoted(table)],
  );
  if (!rows[0]) throw new BackupIntegrityError(`table ${table} does not exist in the restored schema`);
  const forced = rows[0].forced;
  if (forced) await client.query(`alter table ${quoted(table)} no force row level security`);
  await client.query(`alter table ${quoted(table)} disable trigger user`);
  const here = await copiedColumns(client, table);
  if (here.join() !== columns.join()) {
    throw new BackupIntegrityError(`table ${table}: the restored schema has other columns than the backup`);
  }
  const copy = client.query(copyFrom(`copy ${quoted(table)} (${columns.map(quoted).join(', ')}) from stdin`));
  const finished = new Promise<void>((resolve, reject) => {
    copy.once('finish', resolve);
    copy.once('error', (error: Error) =>
      reject(new Error(`restoring table ${table}: ${error.message}`, { cause: error })),
    );
  });
  finished.catch(() => undefined);
  return {
    write: async (bytes) => {
      if (!copy.write(bytes)) {
        await Promise.race([new Promise((resolve) => copy.once('drain', resolve)), finished]);
      }
    },
    end: async () => {
      copy.end();
      await finished;
      await client.query(`alter table ${quoted(table)} enable trigger user`);
      if (forced) await client.query(`alter table ${quoted(table)} force row level security`);
    },
    abort: async (error) => {
      copy.destroy(error);
      await finished.catch(() => undefined);
    },
  };
}

/** The columns a backup carries: every stored one, in order; generated columns are computed again. */
async function copiedColumns(client: ClientBase, table: string): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `select attname as name from pg_attribute
      where attrelid = $1::regclass and attnum > 0 and not attisdropped and attgenerated = ''
      order by attnum`,
    [quoted(table)],
  );
  return rows.map((row) => row.name);
}

/** Identity and serial sequences continue after the highest restored value. */
async function resetSequences(client: ClientBase): Promise<void> {
  const { rows } = await client.query<{ table: string; column: string; sequence: string }>(`
    select c.relname as table, a.attname as column, pg_get_serial_sequence(quote_ident(c.relname), a.attname) as sequence
    from pg_attribute a join pg_class c on c.oid = a.attrelid
    where c.relnamespace = 'public'::regnamespace and c.relkind = 'r' and a.attnum > 0 and not a.attisdropped
      and pg_get_serial_sequence(quote_ident(c.relname), a.attname) is not null`);
  for (const row of rows) {
    await client.query(
      `select setval($1, coalesce((select max(${quoted(row.column)}) from ${quoted(row.table)}), 0) + 1, false)`,
      [row.sequence],
    );
  }
}

/** Reads every table back and compares rows and hash with the manifest. */
export async function assertMatches(client: ClientBase, manifest: BackupManifest): Promise<void> {
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
        `table ${expected.name}: ${rows} rows restored where the backup holds ${expected.rows}, or their bytes differ`,
      );
    }
  }
}
