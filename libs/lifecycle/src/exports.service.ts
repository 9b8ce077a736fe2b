import { Injectable } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { AuditTrail } from '@forecourt/audit';
import { Clock, newId, type RequestContext } from '@forecourt/core';
import { isoTimestampSql, TenantTransaction, tenantScopeOf } from '@forecourt/database';
import { ObjectStore } from '@forecourt/storage';
import { ExportError, ExportErrorCode } from './export-error';
import { ExportWorker } from './export-worker';
import type { CreateExportDto, ExportDto, ExportQueuedDto, ExportStatus } from './exports.dto';

/** The archive as the download route sends it. */
export interface ExportDownload {
  body: Readable;
  size: number;
  fileName: string;
}

interface ExportRow {
  id: string;
  status: ExportStatus;
  rowsDone: string;
  rowsTotal: string | null;
  rowCount: string | null;
  createdAt: string;
  expiresAt: string | null;
  objectPath: string | null;
  sizeBytes: string | null;
}

const EXPORT_COLUMNS = `id, status, rows_done as "rowsDone", rows_total as "rowsTotal", row_count as "rowCount",
  ${isoTimestampSql('created_at')} as "createdAt", ${isoTimestampSql('expires_at')} as "expiresAt",
  object_path as "objectPath", size_bytes as "sizeBytes"`;

const notFound = () => new ExportError(ExportErrorCode.NotFound, 'No such export');

/**
 * A tenant's exports of its own data: requested by its admin, written in the background by
 * {@link ExportWorker}, downloadable for 7 days. Requesting and downloading are audited; the
 * request in the transaction that queues it, the download before a byte of it is sent.
 */
@Injectable()
export class Exports {
  constructor(
    private readonly transactions: TenantTransaction,
    private readonly trail: AuditTrail,
    private readonly objects: ObjectStore,
    private readonly worker: ExportWorker,
    private readonly clock: Clock,
  ) {}

  async create(ctx: RequestContext, body: CreateExportDto): Promise<ExportQueuedDto> {
    const scope = tenantScopeOf(ctx);
    const id = newId();
    await this.transactions.run(scope, async (tx) => {
      await tx.query(
        `insert into exports (tenant_id, id, format, requested_by, created_at) values ($1, $2, $3, $4, $5)`,
        [scope.tenantId, id, body.format, scope.userId, this.clock.now()],
      );
      await this.trail.append(tx, ctx, { action: 'export.create', subjectType: 'Export', subjectId: id });
    });
    this.worker.poke();
    return { id, status: 'queued' };
  }

  async get(ctx: RequestContext, exportId: string): Promise<ExportDto> {
    const row = await this.find(ctx, exportId);
    return {
      id: row.id,
      status: row.status,
      progress: { rowsDone: Number(row.rowsDone), rowsTotal: numberOrNull(row.rowsTotal) },
      rowCount: numberOrNull(row.rowCount),
      createdAt: row.createdAt,
      expiresAt: row.expiresAt,
    };
  }

  /** The archive, decrypted as it streams; recorded before it is sent. */
  async download(ctx: RequestContext, exportId: string): Promise<ExportDownload> {
    const tenantId = tenantScopeOf(ctx).tenantId;
    const row = await this.find(ctx, exportId);
    if (row.status !== 'completed' || !row.objectPath || !row.expiresAt || row.sizeBytes === null) {
      throw new ExportError(ExportErrorCode.NotReady, `The export is ${row.status}, not completed`);
    }
    if (new Date(row.expiresAt).getTime() <= this.clock.now().getTime()) {
      throw new ExportError(ExportErrorCode.Expired, 'The export expired; request a new one');
    }
    const body = await this.objects.open({ tenantId }, row.objectPath);
    if (!body) throw notFound();
    try {
      await this.trail.record(ctx, tenantId, {
        action: 'export.download',
        subjectType: 'Export',
        subjectId: exportId,
      });
    } catch (error) {
      body.destroy(); // no download without its event
      throw error;
    }
    return { body, size: Number(row.sizeBytes), fileName: `forecourt-export-${exportId}.zip` };
  }

  private async find(ctx: RequestContext, exportId: string): Promise<ExportRow> {
    const scope = tenantScopeOf(ctx);
    const { rows } = await this.transactions.statement<ExportRow>(
      scope,
      `select ${EXPORT_COLUMNS} from exports where tenant_id = $1 and id = $2`,
      [scope.tenantId, exportId],
    );
    const row = rows[0];
    if (!row) throw notFound();
    return row;
  }
}

function numberOrNull(value: string | null): number | null {
  return value === null ? null : Number(value);
}
