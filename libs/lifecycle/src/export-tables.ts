import { stringify } from 'csv-stringify/sync';

export type ExportFormat = 'jsonl' | 'csv';
export const EXPORT_FORMATS = ['jsonl', 'csv'] as const satisfies readonly ExportFormat[];

/** One table of the archive: which rows, which columns, and the file they go to. */
export interface ExportTable {
  /** The table, also the file's name (`<name>.jsonl` or `<name>.csv`). */
  name: string;
  /**
   * Columns left out of the file: generated search keys (derived, not data) and sealed
   * identifiers, which go out opened under their own names (see `openedColumns`).
   */
  omit: readonly string[];
  /** Columns computed in SQL instead of taken as they are (bytes as hex, for instance). */
  computed?: Readonly<Record<string, string>>;
  /** Columns added after the row is read (the opened identifiers of a customer). */
  openedColumns?: readonly string[];
}

/**
 * What the archive holds, in order: the tenant's inventory, its sales floor and its invoices, each
 * table whole (every column, its rows by id). The audit trail follows as a file of its own, and the
 * objects the rows point at under `media/`.
 */
export const EXPORT_TABLES: readonly ExportTable[] = [
  { name: 'stores', omit: [] },
  { name: 'vehicles', omit: [] },
  { name: 'vehicle_media', omit: ['sha256'], computed: { sha256: `encode(t.sha256, 'hex')` } },
  {
    name: 'customers',
    omit: ['name_key', 'phone_reversed', 'national_id', 'driver_license', 'sensitive'],
    openedColumns: ['national_id', 'driver_license', 'sensitive'],
  },
  { name: 'consent_events', omit: [] },
  { name: 'leads', omit: [] },
  { name: 'messages', omit: [] },
  { name: 'bookings', omit: [] },
  {
    name: 'deals',
    omit: ['bill_of_sale_sha256'],
    computed: { bill_of_sale_sha256: `encode(t.bill_of_sale_sha256, 'hex')` },
  },
  { name: 'invoices', omit: [] },
];

/** Rows that point at an object in storage, whose bytes go into the archive under `folder`. */
export interface ExportObjects {
  table: string;
  /** The column holding the object's full key (`tenants/<tenantId>/...`); null: no object. */
  keyColumn: string;
  /** The recorded SHA-256 of the object's plaintext (bytea), compared with what is read. */
  sha256Column: string;
  folder: string;
}

export const EXPORT_OBJECTS: readonly ExportObjects[] = [
  { table: 'vehicle_media', keyColumn: 'object_key', sha256Column: 'sha256', folder: 'media/vehicle_media' },
  {
    table: 'deals',
    keyColumn: 'bill_of_sale_key',
    sha256Column: 'bill_of_sale_sha256',
    folder: 'media/bills_of_sale',
  },
];

export type ExportRow = Record<string, unknown>;

/** The file name of a table in `format`. */
export function fileOf(name: string, format: ExportFormat): string {
  return `${name}.${format}`;
}

/** The first line of a CSV file: its column names. */
export function csvHeaderOf(columns: readonly string[]): string {
  return stringify([[...columns]], { record_delimiter: '\n' });
}

/**
 * Rows as the file's text: JSON Lines with every value as PostgreSQL's JSON gives it, or CSV in
 * `columns` order (an empty cell is null; objects and lists are JSON; the rest as text).
 */
export function formatRows(
  format: ExportFormat,
  columns: readonly string[],
  rows: readonly ExportRow[],
): string {
  if (format === 'jsonl') return rows.map((row) => `${JSON.stringify(row)}\n`).join('');
  return stringify(
    rows.map((row) => columns.map((column) => csvCell(row[column]))),
    { record_delimiter: '\n' },
  );
}

function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  // Numbers, booleans, objects and lists: as JSON writes them.
  return JSON.stringify(value);
}
