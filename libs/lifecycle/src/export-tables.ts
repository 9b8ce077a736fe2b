export type ExportFormat = 'jsonl' | 'csv';
export const EXPORT_FORMATS = ['jsonl', 'csv'] as const satisfies readonly ExportFormat[];

/**
 * One table of the archive, also the file's name (`<name>.jsonl` or `<name>.csv`). Every column
 * goes out in the table's order, except generated ones (search keys derived from the others).
 */
export interface ExportTable {
  name: string;
  /** Columns computed in SQL instead of taken as stored (bytes as hex, for instance). */
  computed?: Readonly<Record<string, string>>;
  /**
   * Columns sealed under the tenant's key: read as bytes, written opened (it is the owner's copy).
   * Only a customer's identifiers are sealed today; `ExportTableReader` opens them with
   * `openCustomerIdentifiers`, so another sealed table needs its own opener there.
   */
  sealed?: readonly string[];
}

/**
 * What the archive holds, in order: the tenant's inventory, its sales floor and its invoices, each
 * table whole (its rows by id). The audit trail follows as a file of its own, and the objects
 * the rows point at under `media/`.
 */
export const EXPORT_TABLES: readonly ExportTable[] = [
  { name: 'stores' },
  { name: 'vehicles' },
  { name: 'vehicle_media', computed: { sha256: `encode(t.sha256, 'hex')` } },
  { name: 'customers', sealed: ['national_id', 'driver_license', 'sensitive'] },
  { name: 'consent_events' },
  { name: 'leads' },
  { name: 'messages' },
  { name: 'bookings' },
  { name: 'deals', computed: { bill_of_sale_sha256: `encode(t.bill_of_sale_sha256, 'hex')` } },
  { name: 'invoices' },
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
  return `${columns.map(csvCell).join(',')}\n`;
}

/**
 * One row as a line of the file, as PostgreSQL's `COPY` writes the other tables' rows: JSON Lines
 * with every value as JSON gives it, or CSV in `columns` order (text as itself, other values as
 * JSON; a null is an empty cell, an empty text `""`; quoted where it holds a comma, a quote or a
 * line break, quotes doubled).
 */
export function formatRow(format: ExportFormat, columns: readonly string[], row: ExportRow): string {
  if (format === 'jsonl') return `${JSON.stringify(row)}\n`;
  return `${columns.map((column) => csvCell(row[column])).join(',')}\n`;
}

function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  // Numbers, booleans, objects and lists: as JSON writes them.
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text === '' || /[",\r\n]/.test(text) || text === '\\.' ? `"${text.replace(/"/g, '""')}"` : text;
}
