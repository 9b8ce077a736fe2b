import { parse } from 'csv-parse';
import { stringify } from 'csv-stringify/sync';
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import type { AuditOutcome, SealedAuditEvent } from './audit-event';

export type ExportFormat = 'jsonl' | 'csv';
export const EXPORT_FORMAT_VERSION = 'forecourt-audit-export/1';

/**
 * An export, in order: one header (which chain, when, the signing keys' verifier strings), every
 * checkpoint note, then every event in `seq` order with its chain fields. Checkpoints come
 * before events so that a verifier reading the file front to back knows them in time.
 */
export type ExportRecord =
  | { type: 'header'; format: string; tenantId: string; exportedAt: string; keys: string[] }
  | { type: 'checkpoint'; note: string }
  | ({ type: 'event' } & SealedAuditEvent);

/** The event columns of a CSV export, in order. */
const EVENT_FIELDS = [
  'seq',
  'tenantId',
  'id',
  'at',
  'actorId',
  'actorRole',
  'supportGrantId',
  'action',
  'subjectType',
  'subjectId',
  'subjectIds',
  'storeId',
  'requestId',
  'ip',
  'userAgent',
  'outcome',
  'reason',
  'changedFields',
  'prevHash',
  'hash',
] as const satisfies readonly (keyof SealedAuditEvent)[];
/** `record` says what a row is; `value` holds a header's JSON or a checkpoint's note. */
const CSV_COLUMNS = ['record', ...EVENT_FIELDS, 'value'] as const;

/** One record as a line (JSONL) or a row (CSV: an empty cell is null; lists are JSON). */
export function formatRecord(format: ExportFormat, record: ExportRecord): string {
  if (format === 'jsonl') return `${JSON.stringify(record)}\n`;
  const row: Record<string, string> = { record: record.type };
  if (record.type === 'header') {
    row.value = JSON.stringify({ ...record, type: undefined });
  } else if (record.type === 'checkpoint') {
    row.value = record.note;
  } else {
    for (const field of EVENT_FIELDS) {
      const value = record[field];
      row[field] = value === null ? '' : Array.isArray(value) ? JSON.stringify(value) : String(value);
    }
  }
  return stringify([row], { columns: [...CSV_COLUMNS], header: false, record_delimiter: '\n' });
}

/** The first line of a CSV export. */
export function csvHeader(): string {
  return `${CSV_COLUMNS.join(',')}\n`;
}

export class ExportFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExportFormatError';
  }
}

/** Reads an export back, record by record, in constant memory. */
export async function* readExport(input: Readable, format: ExportFormat): AsyncGenerator<ExportRecord> {
  if (format === 'jsonl') {
    let line = 0;
    for await (const text of createInterface({ input, crlfDelay: Infinity })) {
      line += 1;
      if (text.trim() === '') continue;
      try {
        yield JSON.parse(text) as ExportRecord;
      } catch {
        throw new ExportFormatError(`line ${line} is not JSON`);
      }
    }
    return;
  }
  for await (const row of input.pipe(parse({ columns: true, relax_column_count: false }))) {
    yield recordOfRow(row as Record<string, string>);
  }
}

function recordOfRow(row: Record<string, string>): ExportRecord {
  if (row.record === 'header') {
    return {
      type: 'header',
      ...(JSON.parse(row.value ?? '{}') as Omit<Extract<ExportRecord, { type: 'header' }>, 'type'>),
    };
  }
  if (row.record === 'checkpoint') return { type: 'checkpoint', note: row.value ?? '' };
  if (row.record !== 'event')
    throw new ExportFormatError(`unknown record type ${JSON.stringify(row.record)}`);
  const text = (field: string) => (row[field] ? row[field] : null);
  const list = (field: string) => (row[field] ? (JSON.parse(row[field]) as string[]) : null);
  return {
    type: 'event',
    seq: Number(row.seq),
    tenantId: row.tenantId ?? '',
    id: row.id ?? '',
    at: row.at ?? '',
    actorId: text('actorId'),
    actorRole: row.actorRole ?? '',
    supportGrantId: text('supportGrantId'),
    action: row.action ?? '',
    subjectType: row.subjectType ?? '',
    subjectId: text('subjectId'),
    subjectIds: list('subjectIds'),
    storeId: text('storeId'),
    requestId: text('requestId'),
    ip: text('ip'),
    userAgent: text('userAgent'),
    outcome: (row.outcome ?? '') as AuditOutcome,
    reason: text('reason'),
    changedFields: list('changedFields'),
    prevHash: row.prevHash ?? '',
    hash: row.hash ?? '',
  };
}
