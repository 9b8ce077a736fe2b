import { createSecretKey, randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { KeyWrapper } from '@forecourt/crypto';
import { type BackupEvent, BackupIntegrityError, BackupWriter, readBackup } from './backup-archive';

const MARKER = 'FORECOURT-PLAINTEXT-MARKER';
const wrapper = new KeyWrapper(createSecretKey(randomBytes(32)));
const header = (backupId: string) => ({
  format: 1,
  backupId,
  schemaVersion: 'SamlSso1795550000000',
  createdAt: new Date().toISOString(),
});

/** COPY-style text: `rows` lines, each with a marker, in pieces of uneven size. */
function* copyText(rows: number, tag: string): Generator<Buffer> {
  let pending = '';
  for (let row = 0; row < rows; row++) {
    pending += `${row}\t${tag}\t${MARKER}\tline with an escaped \\n newline\n`;
    if (pending.length > 40_000 + (row % 7) * 1000) {
      yield Buffer.from(pending);
      pending = '';
    }
  }
  if (pending) yield Buffer.from(pending);
}

async function backupOf(backupId: string, tables: Record<string, number>, keys = wrapper): Promise<Buffer> {
  const out = new PassThrough();
  const parts: Buffer[] = [];
  out.on('data', (chunk: Buffer) => parts.push(chunk));
  const writer = new BackupWriter(out, keys, header(backupId));
  await writer.begin();
  for (const [name, rows] of Object.entries(tables))
    await writer.table(name, ['id', 'tag', 'marker', 'note'], copyText(rows, name));
  await writer.finish();
  return Buffer.concat(parts);
}

async function read(bytes: Buffer, backupId: string, keys = wrapper): Promise<BackupEvent[]> {
  const events: BackupEvent[] = [];
  for await (const event of readBackup(Readable.from([bytes]), keys, backupId)) events.push(event);
  return events;
}

describe('the backup file', () => {
  let sealed: Buffer;
  beforeAll(async () => {
    sealed = await backupOf('b1', { tenants: 3, customers: 20_000, empty: 0, leads: 5_000 });
  });

  it('reads back every table, byte for byte, with its rows and hash, and the manifest last', async () => {
    const events = await read(sealed, 'b1');
    expect(events[0]).toMatchObject({ kind: 'header', header: { backupId: 'b1', format: 1 } });
    const tables = new Map<string, Buffer[]>();
    for (const event of events) {
      if (event.kind === 'table') tables.set(event.name, []);
      if (event.kind === 'data') tables.get(event.name)!.push(event.bytes);
    }
    for (const [name, rows] of Object.entries({ tenants: 3, customers: 20_000, empty: 0, leads: 5_000 })) {
      const expected: Buffer[] = [];
      for (const piece of copyText(rows, name)) expected.push(piece);
      expect(Buffer.concat(tables.get(name)!).equals(Buffer.concat(expected))).toBe(true);
    }
    const last = events[events.length - 1]!;
    expect(last.kind).toBe('manifest');
    if (last.kind === 'manifest') {
      expect(last.manifest.tables.map((table) => [table.name, table.rows])).toEqual([
        ['tenants', 3],
        ['customers', 20_000],
        ['empty', 0],
        ['leads', 5_000],
      ]);
    }
  });

  it('holds no plaintext, and is compressed', () => {
    expect(sealed.includes(Buffer.from(MARKER))).toBe(false);
    expect(sealed.includes(Buffer.from('customers'))).toBe(false);
    const plainSize = 25_003 * 70;
    expect(sealed.length).toBeLessThan(plainSize / 4);
  });

  it('fails loudly at a flipped byte anywhere, naming the chunk', async () => {
    for (const at of [3, 40, Math.floor(sealed.length / 2), sealed.length - 20]) {
      const copy = Buffer.from(sealed);
      copy[at]! ^= 0x01;
      await expect(read(copy, 'b1')).rejects.toThrow(/chunk \d+|the header|does not open/);
    }
  });

  it('fails when cut short, even at the very end', async () => {
    await expect(read(sealed.subarray(0, sealed.length - 1), 'b1')).rejects.toThrow(/chunk/);
    await expect(read(sealed.subarray(0, 100), 'b1')).rejects.toThrow();
  });

  it('does not open under another master key, or as another backup', async () => {
    const other = new KeyWrapper(createSecretKey(randomBytes(32)));
    await expect(read(sealed, 'b1', other)).rejects.toThrow(/does not open/);
    await expect(read(sealed, 'b2')).rejects.toThrow(/does not open/);
  });

  it('names the table whose data does not match its recorded digest', async () => {
    // A writer that lies about a table's rows: the reader catches it at that table.
    const out = new PassThrough();
    const parts: Buffer[] = [];
    out.on('data', (chunk: Buffer) => parts.push(chunk));
    const writer = new BackupWriter(out, wrapper, header('b3'));
    await writer.begin();
    await writer.table('stores', ['id'], copyText(10, 'stores'));
    const tampered = writer as unknown as { digests: { rows: number }[] };
    await writer.table('vehicles', ['id'], copyText(10, 'vehicles'));
    tampered.digests[1]!.rows = 11; // the manifest now disagrees with the E frame
    await writer.finish();
    await expect(read(Buffer.concat(parts), 'b3')).rejects.toBeInstanceOf(BackupIntegrityError);
  });
});
