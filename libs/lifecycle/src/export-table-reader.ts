import { Injectable } from '@nestjs/common';
import { isUuid } from '@forecourt/core';
import { TenantKeys } from '@forecourt/crypto';
import { type TenantScope, TenantTransaction, type TenantWork } from '@forecourt/database';
import { openCustomerIdentifiers } from '@forecourt/leads';
import type { Handover } from './export-handover';
import {
  EXPORT_TABLES,
  type ExportFormat,
  type ExportRow,
  type ExportTable,
  formatRow,
} from './export-tables';

/** What the reader hands over of each table, in order: its columns, its file's bytes, its row count. */
export type TableStep =
  | { kind: 'columns'; table: string; columns: string[] }
  /** `rows`: the rows these bytes end (exact for JSON Lines; CSV counts lines, capped). */
  | { kind: 'bytes'; chunks: Buffer[]; rows: number }
  /** `rows`: the table's exact row count, as PostgreSQL reports it. */
  | { kind: 'end'; rows: number };

/** The tenant's whole data: every store. */
type OwnScope = TenantScope & { tenantId: string };
/** A customer row as read through the cursor: its JSON text, its identifiers still sealed. */
type SealedRow = { id: string; row: string } & Record<string, unknown>;

/** statement_timeout while reading: a table's COPY is one statement, however large the table. */
const READ_TIMEOUT_MS = 6 * 3600_000;
/** Rows per FETCH of the tables read row by row (the sealed ones). */
const FETCH_ROWS = 250;
/** Longest piece of text made at once: below V8's large-object size, so it dies young. */
const PIECE_CHARS = 32 * 1024;
const COLUMN_NAME = /^[a-z_][a-z0-9_]*$/;
const NEWLINE = 0x0a;

/**
 * Reads every table of {@link EXPORT_TABLES} for the archive, in one read-only transaction, so
 * the files agree with each other (one snapshot). A table goes out as PostgreSQL writes it —
 * `COPY (select …) TO STDOUT`, the bytes passed on unparsed, paused while the archive is not
 * ready for more — so neither speed nor memory depends on the table's size. The one exception is
 * a table with sealed columns (customers): read through a cursor a batch at a time, each
 * identifier opened with the tenant's key on the way (the export is the owner's copy).
 */
@Injectable()
export class ExportTableReader {
  constructor(
    private readonly transactions: TenantTransaction,
    private readonly keys: TenantKeys,
  ) {}

  /**
   * Producer: hands each table over as {@link TableStep}s; `counted` learns, before the first
   * byte, how many rows there are in all (the tables and the audit trail, for the progress).
   */
  read(
    scope: OwnScope,
    format: ExportFormat,
    steps: Handover<TableStep>,
    counted: (rowsTotal: number) => void,
    signal: AbortSignal,
  ): Promise<void> {
    // The id goes into COPY statements, which take no parameters: only a UUID passes.
    if (!isUuid(scope.tenantId)) return Promise.reject(new Error('not a tenant id'));
    return this.transactions.run(
      scope,
      async (tx) => {
        const counts = await rowCounts(tx);
        counted([...counts.values()].reduce((sum, count) => sum + count, 0));
        for (const table of EXPORT_TABLES) {
          const { columns, generated } = await columnsOf(tx, table);
          await steps.put({ kind: 'columns', table: table.name, columns });
          const rows = table.sealed
            ? await this.fetchSealed(tx, table, format, columns, generated, steps, signal)
            : await copyTable(
                tx,
                table,
                format,
                columns,
                generated,
                counts.get(table.name) ?? 0,
                steps,
                signal,
              );
          await steps.put({ kind: 'end', rows });
        }
      },
      { readOnlySnapshot: true, timeoutMs: READ_TIMEOUT_MS },
    );
  }

  /** A table with sealed columns, through a cursor: each batch's identifiers opened, then formatted. */
  private async fetchSealed(
    tx: TenantWork,
    table: ExportTable,
    format: ExportFormat,
    columns: readonly string[],
    generated: readonly string[],
    steps: Handover<TableStep>,
    signal: AbortSignal,
  ): Promise<number> {
    const sealed = (table.sealed ?? []).map((column) => `, t.${column} as sealed_${column}`).join('');
    await tx.query(
      `declare export_rows no scroll cursor for
         select t.id, (${rowJson(table, generated)})::text as row${sealed}
           from ${table.name} t where t.tenant_id = $1 order by t.id`,
      [tx.scope.tenantId],
    );
    let total = 0;
    for (;;) {
      signal.throwIfAborted();
      const { rows } = await tx.query<SealedRow>(`fetch forward ${FETCH_ROWS} from export_rows`);
      if (rows.length > 0) {
        const lines: string[] = [];
        for (const row of rows) lines.push(formatRow(format, columns, await this.opened(tx, row)));
        await steps.put({ kind: 'bytes', chunks: pieces(lines), rows: rows.length });
        total += rows.length;
      }
      if (rows.length < FETCH_ROWS) break;
    }
    await tx.query('close export_rows');
    return total;
  }

  /** A customer's row with its sealed identifiers opened under the tenant's key. */
  private async opened(tx: TenantWork, row: SealedRow): Promise<ExportRow> {
    const identifiers = await openCustomerIdentifiers(this.keys, tx, row.id, {
      nationalId: row.sealed_national_id as Buffer | null,
      driverLicense: row.sealed_driver_license as Buffer | null,
      sensitive: row.sealed_sensitive as Buffer | null,
    });
    return {
      ...(JSON.parse(row.row) as ExportRow),
      national_id: identifiers.nationalId,
      driver_license: identifiers.driverLicense,
      sensitive: identifiers.sensitive,
    };
  }
}

/**
 * A table as its file's bytes, straight from `COPY`. JSON Lines: each row's JSON text, one per
 * line — written as CSV with a delimiter and a quote character (0x02, 0x01) that JSON text never
 * holds unescaped, so no value is ever quoted and each line is the JSON as it is. CSV: each
 * value as JSON gives it (text as itself; a null an empty cell, an empty text `""`).
 */
async function copyTable(
  tx: TenantWork,
  table: ExportTable,
  format: ExportFormat,
  columns: readonly string[],
  generated: readonly string[],
  count: number,
  steps: Handover<TableStep>,
  signal: AbortSignal,
): Promise<number> {
  const from = `from ${table.name} t where t.tenant_id = '${tx.scope.tenantId}' order by t.id`;
  const sql =
    format === 'jsonl'
      ? `copy (select (${rowJson(table, generated)})::text ${from})
           to stdout with (format csv, delimiter e'\\x02', quote e'\\x01')`
      : `copy (select ${columns.map((column) => cellOf(table, column)).join(', ')} ${from})
           to stdout with (format csv)`;
  const copy = tx.copyOut(sql);
  let announced = 0;
  try {
    for await (const chunk of copy.chunks()) {
      signal.throwIfAborted();
      const rows = Math.min(newlinesIn(chunk), count - announced);
      announced += rows;
      await steps.put({ kind: 'bytes', chunks: [chunk], rows });
    }
  } catch (error) {
    await copy.stop(); // the connection is free again, for the rollback
    throw error;
  }
  return copy.rowCount;
}

/** A row as PostgreSQL's JSON of it: less generated, computed and sealed columns, plus the computed ones. */
function rowJson(table: ExportTable, generated: readonly string[]): string {
  const dropped = [...generated, ...Object.keys(table.computed ?? {}), ...(table.sealed ?? [])];
  const computed = Object.entries(table.computed ?? {})
    .map(([column, expression]) => `'${column}', ${expression}`)
    .join(', ');
  return `to_jsonb(t) - '{${dropped.join(',')}}'::text[]${computed ? ` || jsonb_build_object(${computed})` : ''}`;
}

/** A column as a CSV cell: computed, or its value as JSON gives it, unquoted text for text. */
function cellOf(table: ExportTable, column: string): string {
  return table.computed?.[column] ?? `to_jsonb(t.${column}) #>> '{}'`;
}

/** Row counts of every exported table and of the audit trail, in the transaction's snapshot. */
async function rowCounts(tx: TenantWork): Promise<Map<string, number>> {
  const tables = [...EXPORT_TABLES.map((table) => table.name), 'audit_events'];
  const { rows } = await tx.query<Record<string, string>>(
    `select ${tables.map((table) => `(select count(*) from ${table} where tenant_id = $1) as ${table}`).join(', ')}`,
    [tx.scope.tenantId],
  );
  return new Map(tables.map((table) => [table, Number(rows[0]?.[table] ?? 0)]));
}

/** The columns of `table` its file has, in the table's order, and the generated ones it leaves out. */
async function columnsOf(
  tx: TenantWork,
  table: ExportTable,
): Promise<{ columns: string[]; generated: string[] }> {
  const { rows } = await tx.query<{ name: string; generated: boolean }>(
    `select column_name as name, is_generated = 'ALWAYS' as generated from information_schema.columns
      where table_schema = 'public' and table_name = $1 order by ordinal_position`,
    [table.name],
  );
  // The names go into COPY statements, which take no parameters: only plain identifiers pass.
  if (rows.length === 0 || rows.some((row) => !COLUMN_NAME.test(row.name))) {
    throw new Error(`unexpected columns of ${table.name}`);
  }
  return {
    columns: rows.filter((row) => !row.generated).map((row) => row.name),
    generated: rows.filter((row) => row.generated).map((row) => row.name),
  };
}

/**
 * Lines joined into pieces of about {@link PIECE_CHARS}: one string per batch would be a large
 * object (collected only by a full GC), a buffer per line too many small writes.
 */
function pieces(lines: readonly string[]): Buffer[] {
  const joined: Buffer[] = [];
  let piece: string[] = [];
  let length = 0;
  for (const line of lines) {
    piece.push(line);
    length += line.length;
    if (length >= PIECE_CHARS) {
      joined.push(Buffer.from(piece.join(''), 'utf8'));
      piece = [];
      length = 0;
    }
  }
  if (piece.length > 0) joined.push(Buffer.from(piece.join(''), 'utf8'));
  return joined;
}

function newlinesIn(chunk: Buffer): number {
  let count = 0;
  for (let at = chunk.indexOf(NEWLINE); at !== -1; at = chunk.indexOf(NEWLINE, at + 1)) count += 1;
  return count;
}
