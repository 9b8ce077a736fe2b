import { Injectable } from '@nestjs/common';
import {
  AuditCheckpoints,
  AuditLog,
  AuditSealer,
  AuditSigningKey,
  csvHeader,
  EXPORT_FORMAT_VERSION,
  formatRecord,
} from '@forecourt/audit';
import { Clock } from '@forecourt/core';
import { type TenantScope, TenantTransaction } from '@forecourt/database';
import { ObjectStore } from '@forecourt/storage';
import type { ExportJob, StoredArchive } from './export-queue';
import {
  csvHeaderOf,
  EXPORT_OBJECTS,
  EXPORT_TABLES,
  type ExportFormat,
  type ExportObjects,
  fileOf,
} from './export-tables';
import { Handover } from './export-handover';
import { ExportTableReader, type TableStep } from './export-table-reader';
import { ExportZip, type WrittenFile } from './export-zip';

/** The tenant's whole data: every store. */
type OwnScope = TenantScope & { tenantId: string };

/** A row that points at an object: its id, the object's key and recorded SHA-256 (hex). */
type ObjectRow = { id: string; key: string; sha256: string };

/** Below every id: where a keyset read starts. */
const NIL_ID = '00000000-0000-0000-0000-000000000000';

/** Rows per keyset read of the rows that point at objects, and audit events per piece. */
const BATCH_ROWS = 1_000;
export const MANIFEST_FORMAT = 'forecourt-tenant-export/1';

/** Where a run stands, read by the heartbeat that reports it. */
export interface ExportProgress {
  rowsDone: number;
  rowsTotal: number | null;
}

/** One file of the archive as the manifest lists it. */
export interface ManifestFile extends WrittenFile {
  kind: 'table' | 'audit_trail' | 'object';
  /** The table the file holds, or the table whose row owns the object. */
  table: string;
  /** Rows in a table file; events in the audit trail. */
  rows?: number;
  /** The row that owns an object. */
  rowId?: string;
  /** An object: whether its bytes hash to what was recorded when it was stored. */
  matchesRecorded?: boolean;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  exportId: string;
  tenantId: string;
  fileFormat: ExportFormat;
  exportedAt: string;
  rowCount: number;
  files: ManifestFile[];
  /** Rows that name an object no longer in storage (the row is exported, the bytes cannot be). */
  missingObjects: { table: string; rowId: string }[];
  auditTrail: { path: string; format: string; verify: string };
}

/**
 * Writes one tenant's archive into object storage as a single stream: every table of
 * {@link EXPORT_TABLES} as {@link ExportTableReader} hands it over (one snapshot; customers'
 * sealed identifiers opened: it is the owner's copy), the audit trail in the audit export's own
 * format (checkpoints included, so `npm run cli -- audit:verify --file` checks it offline), the
 * objects the rows point at, then `manifest.json` with each file's rows, size and SHA-256. Every
 * byte is pulled only as fast as the archive is stored, so memory stays flat whatever the
 * tenant's size. The store encrypts under the tenant's key; a run that fails leaves no object.
 */
@Injectable()
export class ExportArchive {
  constructor(
    private readonly transactions: TenantTransaction,
    private readonly objects: ObjectStore,
    private readonly tables: ExportTableReader,
    private readonly auditLog: AuditLog,
    private readonly sealer: AuditSealer,
    private readonly checkpoints: AuditCheckpoints,
    private readonly signingKey: AuditSigningKey,
    private readonly clock: Clock,
  ) {}

  /** Where attempt `attempt` of export `exportId` is stored (relative to its tenant). */
  static objectPathOf(exportId: string, attempt: number): string {
    return `exports/${exportId}/attempt-${attempt}.zip`;
  }

  async write(job: ExportJob, progress: ExportProgress, signal: AbortSignal): Promise<StoredArchive> {
    const scope: OwnScope = { tenantId: job.tenantId, stores: 'all' };
    await this.sealer.seal(job.tenantId, { wait: true });

    const exportedAt = this.clock.now();
    const zip = new ExportZip(exportedAt);
    const objectPath = ExportArchive.objectPathOf(job.id, job.attempt);
    const stored = this.objects.put({ tenantId: job.tenantId }, objectPath, zip.output);
    stored.catch((error: Error) => zip.fail(error)); // the store gave up: stop producing
    const steps = new Handover<TableStep>();
    const counted = (rowsTotal: number) => (progress.rowsTotal = rowsTotal);
    const reading = this.tables.read(scope, job.format, steps, counted, signal).then(
      () => steps.end(),
      (error: Error) => steps.fail(error),
    );
    // Stopped from outside (shutdown, lease lost): both ends give up now, not at their next step.
    const stop = () => {
      const reason = signal.reason instanceof Error ? signal.reason : new Error('stopped');
      steps.cancel(reason);
      zip.fail(reason);
    };
    signal.addEventListener('abort', stop, { once: true });
    if (signal.aborted) stop();
    try {
      const files: ManifestFile[] = [];
      const missingObjects: Manifest['missingObjects'] = [];
      for (const table of EXPORT_TABLES) {
        const rows = { count: 0 };
        const written = await zip.add(
          fileOf(table.name, job.format),
          this.tableFile(steps, table.name, job.format, rows, progress),
        );
        files.push({ ...written, kind: 'table', table: table.name, rows: rows.count });
      }
      await reading; // the snapshot's transaction has ended: the rest reads on its own
      const events = { count: 0 };
      const auditPath = fileOf('audit_trail', job.format);
      const audit = await zip.add(auditPath, this.auditFile(job, exportedAt, events, progress, signal));
      files.push({ ...audit, kind: 'audit_trail', table: 'audit_events', rows: events.count });
      for (const spec of EXPORT_OBJECTS) {
        await this.addObjects(zip, scope, spec, files, missingObjects, signal);
      }
      const manifest: Manifest = {
        format: MANIFEST_FORMAT,
        exportId: job.id,
        tenantId: job.tenantId,
        fileFormat: job.format,
        exportedAt: exportedAt.toISOString(),
        rowCount: files.reduce((sum, file) => sum + (file.rows ?? 0), 0),
        files,
        missingObjects,
        auditTrail: {
          path: auditPath,
          format: EXPORT_FORMAT_VERSION,
          verify: `npm run cli -- audit:verify --file ${auditPath}`,
        },
      };
      zip.finish('manifest.json', Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8'));
      const object = await stored;
      return { objectPath, size: object.size, sha256: object.sha256, rowCount: manifest.rowCount };
    } catch (error) {
      steps.cancel(error as Error);
      zip.fail(error as Error);
      await reading; // settles once the reading transaction has ended
      await stored.catch(() => undefined); // settles once the store has dropped what it had
      throw error;
    } finally {
      signal.removeEventListener('abort', stop);
    }
  }

  /** Consumer: one table's file from the steps handed over: the CSV header, then its rows' bytes. */
  private async *tableFile(
    steps: Handover<TableStep>,
    table: string,
    format: ExportFormat,
    rows: { count: number },
    progress: ExportProgress,
  ): AsyncGenerator<Buffer> {
    const first = await steps.take();
    if (first?.kind !== 'columns' || first.table !== table)
      throw new Error(`the reader did not start ${table}`);
    if (format === 'csv') yield Buffer.from(csvHeaderOf(first.columns), 'utf8');
    let announced = 0;
    for (;;) {
      const step = await steps.take();
      if (step?.kind === 'bytes') {
        for (const chunk of step.chunks) yield chunk;
        announced += step.rows;
        progress.rowsDone += step.rows;
      } else if (step?.kind === 'end') {
        rows.count = step.rows;
        progress.rowsDone += step.rows - announced;
        return;
      } else {
        throw new Error(`the reader stopped within ${table}`);
      }
    }
  }

  /** The audit trail as `GET …/audit-events/export` gives it: header, checkpoints, every event. */
  private async *auditFile(
    job: ExportJob,
    exportedAt: Date,
    events: { count: number },
    progress: ExportProgress,
    signal: AbortSignal,
  ): AsyncGenerator<Buffer> {
    const keys = (await this.signingKey.published()).map((key) => key.verifierKey);
    const notes = await this.checkpoints.notes(job.tenantId);
    const lines: string[] = [];
    if (job.format === 'csv') lines.push(csvHeader());
    lines.push(
      formatRecord(job.format, {
        type: 'header',
        format: EXPORT_FORMAT_VERSION,
        tenantId: job.tenantId,
        exportedAt: exportedAt.toISOString(),
        keys,
      }),
    );
    for (const note of notes) lines.push(formatRecord(job.format, { type: 'checkpoint', note }));
    yield Buffer.from(lines.join(''), 'utf8');
    let batch: string[] = [];
    for await (const event of this.auditLog.events(job.tenantId)) {
      batch.push(formatRecord(job.format, { type: 'event', ...event }));
      events.count += 1;
      progress.rowsDone += 1;
      if (batch.length === BATCH_ROWS) {
        signal.throwIfAborted();
        yield Buffer.from(batch.join(''), 'utf8');
        batch = [];
      }
    }
    if (batch.length > 0) yield Buffer.from(batch.join(''), 'utf8');
  }

  /** The objects `spec`'s rows point at, one file each under its folder, read as stored. */
  private async addObjects(
    zip: ExportZip,
    scope: OwnScope,
    spec: ExportObjects,
    files: ManifestFile[],
    missing: Manifest['missingObjects'],
    signal: AbortSignal,
  ): Promise<void> {
    const prefix = `tenants/${scope.tenantId}/`;
    let after = NIL_ID;
    for (;;) {
      signal.throwIfAborted();
      const { rows }: { rows: ObjectRow[] } = await this.transactions.statement<ObjectRow>(
        scope,
        `select id, ${spec.keyColumn} as key, encode(${spec.sha256Column}, 'hex') as sha256 from ${spec.table}
          where tenant_id = $1 and ${spec.keyColumn} is not null and id > $2
          order by id limit $3`,
        [scope.tenantId, after, BATCH_ROWS],
      );
      for (const row of rows) {
        signal.throwIfAborted();
        const body = row.key.startsWith(prefix)
          ? await this.objects.open({ tenantId: scope.tenantId }, row.key.slice(prefix.length))
          : null;
        if (!body) {
          missing.push({ table: spec.table, rowId: row.id });
          continue;
        }
        const written = await zip.add(`${spec.folder}/${row.id}`, body as AsyncIterable<Buffer>, false);
        files.push({
          ...written,
          kind: 'object',
          table: spec.table,
          rowId: row.id,
          matchesRecorded: written.sha256 === row.sha256,
        });
      }
      if (rows.length < BATCH_ROWS) return;
      after = rows[rows.length - 1]!.id;
    }
  }
}
