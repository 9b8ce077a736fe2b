import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import { Client } from 'pg';
import { type KeyWrapper, measuringStream } from '@forecourt/crypto';
import { isoTimestampSql, withClient } from '@forecourt/database';
import { BACKUP_FORMAT, BackupWriter } from './backup-archive';
import type { OnProgress } from './backup-progress';
import { restoreTenantIntoLive, type TenantRestoreReport } from './live-tenant-restore';
import type { ScratchDatabase } from './scratch-database';
import { type MigrateTo, type RestoreReport, restoreSnapshot, writeSnapshot } from './snapshot';

/** What the automatic restore test found. */
export interface VerifyOutcome {
  status: 'passed' | 'failed';
  detail: string;
}

/** A backup as `backup:list` and `GET /v1/platform/backups` show it. */
export interface BackupRecord {
  id: string;
  createdAt: string;
  status: 'running' | 'completed' | 'failed';
  finishedAt: string | null;
  /** The file's size: compressed and encrypted. */
  sizeBytes: number | null;
  /** The rows' size as `COPY` text, before compression. */
  dataBytes: number | null;
  rowCount: number | null;
  verifyStatus: 'passed' | 'failed' | null;
  verifiedAt: string | null;
  /** How long the restore test took. */
  verifyMs: number | null;
  /** What the restore test found (the reason, when it failed). */
  verifyDetail: string | null;
  /** Why the backup failed. */
  error: string | null;
  /** Whether the local file is still kept (`DATA_DIR/backups`). */
  localCopy: boolean;
  /** Whether the off-site copy is still kept (`BACKUP_S3_*`). */
  offsiteCopy: boolean;
  /** The upload's outcome; null when there is no off-site bucket (or it was not tried). */
  offsiteStatus: 'uploaded' | 'failed' | null;
  offsiteError: string | null;
}

const fileOf = (dir: string, id: string) => join(dir, `${id}.fcb`);

/**
 * Backups in a local directory (`DATA_DIR/backups`), recorded in the `backups` table. Each is
 * written to a temporary name and renamed once complete, so a crash leaves no file that looks
 * finished; the row says `running` until then, `completed` with size, SHA-256 and manifest after.
 */
export class LocalBackups {
  constructor(
    private readonly ownerUrl: string,
    private readonly wrapper: KeyWrapper,
    private readonly dir: string,
  ) {}

  /** Takes a backup of the whole database; returns its id. */
  async run(schemaVersion: string): Promise<string> {
    const id = await this.open(schemaVersion);
    await this.write(id, schemaVersion);
    return id;
  }

  /**
   * Records a new backup as `running` (before a byte is written); returns its id. `scheduledFor`:
   * the schedule slot it is taken for (one backup per slot: a second record is refused).
   */
  async open(schemaVersion: string, scheduledFor: Date | null = null): Promise<string> {
    // A version-7-like id is not needed: backups are listed by time, and the id names a file.
    const id = randomUUID();
    await this.asOwner((client) =>
      client.query(`insert into backups (id, schema_version, scheduled_for) values ($1, $2, $3)`, [
        id,
        schemaVersion,
        scheduledFor,
      ]),
    );
    return id;
  }

  /** Writes the backup `open` recorded: the file, then the record `completed` (or `failed`). */
  async write(id: string, schemaVersion: string, onProgress?: OnProgress): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const client = new Client({ connectionString: this.ownerUrl });
    await client.connect();
    const partial = `${fileOf(this.dir, id)}.partial`;
    try {
      const measuring = measuringStream();
      const tap = measuring.stream;
      const file = createWriteStream(partial, { mode: 0o600 });
      tap.pipe(file);
      const written = new Promise<void>((resolve, reject) => {
        file.once('finish', resolve);
        file.once('error', reject);
      });
      const writer = new BackupWriter(tap, this.wrapper, {
        format: BACKUP_FORMAT,
        backupId: id,
        schemaVersion,
        createdAt: new Date().toISOString(),
      });
      // The snapshot on a connection of its own: the bookkeeping above is not part of it.
      const manifest = await withClient({ connectionString: this.ownerUrl }, (snapshot) =>
        writeSnapshot(snapshot, writer, onProgress),
      );
      await written;
      renameSync(partial, fileOf(this.dir, id));
      const { size, sha256 } = measuring.result();
      await client.query(
        `update backups set status = 'completed', finished_at = now(), size_bytes = $2, sha256 = $3, manifest = $4,
           local_path = $5 where id = $1`,
        [id, size, sha256, JSON.stringify(manifest), fileOf(this.dir, id)],
      );
    } catch (error) {
      rmSync(partial, { force: true });
      await client
        .query(`update backups set status = 'failed', finished_at = now(), error = $2 where id = $1`, [
          id,
          (error as Error).message.slice(0, 2000),
        ])
        .catch(() => undefined);
      throw error;
    } finally {
      await client.end();
    }
  }

  async list(): Promise<BackupRecord[]> {
    const at = (column: string) =>
      `case when ${column} is null then null else ${isoTimestampSql(column)} end`;
    return this.asOwner(async (client) => {
      const { rows } = await client.query<BackupRecord>(
        `select id, ${isoTimestampSql('created_at')} as "createdAt", status, ${at('finished_at')} as "finishedAt",
           size_bytes::float8 as "sizeBytes",
           (select sum((t ->> 'bytes')::bigint)::float8 from jsonb_array_elements(manifest -> 'tables') t) as "dataBytes",
           (select sum((t ->> 'rows')::bigint)::float8 from jsonb_array_elements(manifest -> 'tables') t) as "rowCount",
           verify_status as "verifyStatus", ${at('verified_at')} as "verifiedAt", verify_ms as "verifyMs",
           verify_detail as "verifyDetail", error, local_path is not null as "localCopy",
           offsite_key is not null as "offsiteCopy", offsite_status as "offsiteStatus", offsite_error as "offsiteError"
         from backups order by created_at desc`,
      );
      return rows;
    });
  }

  /**
   * Local retention: removes the local copies of backups older than `keepMs` at `now` — but never
   * the newest one that passed its restore test nor the newest completed one, whatever their age,
   * so a stopped schedule or a backup failing its test never leaves no good backup. Failed and
   * abandoned runs past the same age go too. A record goes with its last copy (one with an
   * off-site copy stays for the off-site retention). Returns the ids whose local copy went.
   */
  async prune(now: Date, keepMs: number): Promise<string[]> {
    const ids = await this.asOwner(async (client) => {
      const { rows } = await client.query<{ id: string }>(
        `with expired as (
           select id from backups
            where created_at < $1::timestamptz - make_interval(secs => $2)
              and (local_path is not null or status <> 'completed')
              and id is distinct from (select id from backups where status = 'completed' and local_path is not null
                                       order by created_at desc limit 1)
              and id is distinct from (select id from backups
                                        where status = 'completed' and local_path is not null and verify_status = 'passed'
                                        order by created_at desc limit 1)
         ), kept as (
           update backups set local_path = null from expired
            where backups.id = expired.id and backups.offsite_key is not null
         ), gone as (
           delete from backups using expired where backups.id = expired.id and backups.offsite_key is null
         )
         select id from expired`,
        [now, keepMs / 1000],
      );
      return rows.map((row) => row.id);
    });
    for (const id of ids) {
      rmSync(fileOf(this.dir, id), { force: true });
      rmSync(`${fileOf(this.dir, id)}.partial`, { force: true });
    }
    return ids;
  }

  /**
   * The automatic restore test: restores backup `id` into a new scratch database, which checks
   * every table against the manifest, and records the outcome (`passed` or `failed` with the
   * reason, with the time it took). The scratch database is dropped either way.
   */
  async verify(
    id: string,
    scratch: (backupId: string) => Promise<ScratchDatabase>,
    migrate: (version: string, databaseUrl: string) => Promise<void>,
    {
      fallback,
      onProgress,
    }: { fallback?: (id: string) => Promise<Readable | null>; onProgress?: OnProgress } = {},
  ): Promise<VerifyOutcome> {
    const started = Date.now();
    let outcome: VerifyOutcome;
    const database = await scratch(id);
    try {
      const report = await this.restore(id, database.url, (version) => migrate(version, database.url), {
        fallback,
        onProgress,
      });
      const rows = report.manifest.tables.reduce((sum, table) => sum + table.rows, 0);
      outcome = {
        status: 'passed',
        detail: `${report.manifest.tables.length} tables, ${rows} rows restored and matched in ${Date.now() - started} ms`,
      };
    } catch (error) {
      outcome = { status: 'failed', detail: (error as Error).message.slice(0, 2000) };
    } finally {
      await database.drop();
    }
    await this.asOwner((client) =>
      client.query(
        `update backups set verify_status = $2, verified_at = now(), verify_detail = $3, verify_ms = $4 where id = $1`,
        [id, outcome.status, outcome.detail, Date.now() - started],
      ),
    );
    return outcome;
  }

  /** The newest completed backup's id, or null. */
  async newest(): Promise<string | null> {
    return this.asOwner(async (client) => {
      const { rows } = await client.query<{ id: string }>(
        `select id from backups where status = 'completed' order by created_at desc limit 1`,
      );
      return rows[0]?.id ?? null;
    });
  }

  /**
   * Restores backup `id` into the empty database at `targetUrl` (its role owns it), from its
   * local file or, when that is gone, from `fallback` (the off-site copy); with `tenantId`, only
   * that tenant's rows (see `restoreSnapshot`).
   */
  async restore(
    id: string,
    targetUrl: string,
    migrate: MigrateTo,
    {
      fallback,
      tenantId,
      onProgress,
    }: {
      fallback?: (id: string) => Promise<Readable | null>;
      tenantId?: string;
      onProgress?: OnProgress;
    } = {},
  ): Promise<RestoreReport> {
    const source = await this.sourceOf(id, fallback);
    return withClient({ connectionString: targetUrl }, (client) =>
      restoreSnapshot(client, source, this.wrapper, id, migrate, { tenantId, onProgress }),
    );
  }

  /**
   * Restores tenant `tenantId` of backup `id` back into the database these backups are taken of
   * (as its schema owner), for a tenant wholly absent from it, behind `confirmTenantId` (see
   * `restoreTenantIntoLive`); from either copy, like {@link restore}.
   */
  async restoreTenantIntoLive(
    id: string,
    {
      fallback,
      tenantId,
      confirmTenantId,
      onProgress,
    }: {
      fallback?: (id: string) => Promise<Readable | null>;
      tenantId: string;
      confirmTenantId: string | undefined;
      onProgress?: OnProgress;
    },
  ): Promise<TenantRestoreReport> {
    const source = await this.sourceOf(id, fallback);
    return this.asOwner((client) =>
      restoreTenantIntoLive(client, source, this.wrapper, id, { tenantId, confirmTenantId, onProgress }),
    );
  }

  /** Backup `id`'s bytes: its local file, or `fallback`'s copy when that is gone. */
  private async sourceOf(
    id: string,
    fallback: (id: string) => Promise<Readable | null> = () => Promise.resolve(null),
  ): Promise<Readable> {
    const file = fileOf(this.dir, id);
    const source = existsSync(file) ? createReadStream(file) : await fallback(id);
    if (!source) throw new Error(`backup ${id} has no copy here: no local file and no off-site copy`);
    return source;
  }

  /** The local file of backup `id` (it may have been removed by retention). */
  fileOf(id: string): string {
    return fileOf(this.dir, id);
  }

  private asOwner<T>(work: (client: Client) => Promise<T>): Promise<T> {
    return withClient({ connectionString: this.ownerUrl }, work);
  }
}
