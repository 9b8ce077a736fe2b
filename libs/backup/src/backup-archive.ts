import { createHash, type Hash } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough, pipeline as pipelineCallback, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type KeyWrapper, masterKeyring, openingStream, sealingStream } from '@forecourt/crypto';
import { compressInBlocks, decompressing } from './block-compression';

/**
 * The backup file: a sequence of frames — `type(1) | length(4, big-endian) | payload` — compressed
 * in 1 MiB brotli blocks (`block-compression.ts`; files written before it are gzip, and read too), then sealed with the STREAM construction (64 KiB AES-256-GCM chunks) under a fresh
 * per-backup key wrapped by the master key and bound to the backup's id. The frames:
 *
 * - `H` the header (JSON): format, backup id, schema version, time;
 * - per table, `T` (its name and columns, JSON), any number of `D` (its `COPY … TO STDOUT` text, as read) and `E`
 *   (its row count and the SHA-256 of its `D` bytes);
 * - `M` the manifest (JSON): every table with its rows, bytes and hash — the last frame.
 *
 * Everything, the manifest included, is inside the authenticated stream: a flipped byte fails the
 * chunk it is in, a cut or a missing end fails at the end. Memory stays flat: data frames are at
 * most {@link MAX_DATA_FRAME} bytes and the streams are piped with back-pressure.
 */
export const BACKUP_FORMAT = 1;
export const MAX_DATA_FRAME = 64 * 1024;
const FRAME_HEADER = 5;
const MAX_JSON_FRAME = 16 * 1024 * 1024;

export interface BackupHeader {
  format: number;
  backupId: string;
  /** The last migration the schema had: a restore migrates an empty database to it first. */
  schemaVersion: string;
  createdAt: string;
}

export interface TableDigest {
  name: string;
  rows: number;
  bytes: number;
  sha256: string;
}

export interface BackupManifest {
  backupId: string;
  tables: TableDigest[];
}

/** What a reader meets, in order. */
export type BackupEvent =
  | { kind: 'header'; header: BackupHeader }
  | { kind: 'table'; name: string; columns: string[] }
  | { kind: 'data'; name: string; bytes: Buffer }
  | { kind: 'table-end'; digest: TableDigest }
  | { kind: 'manifest'; manifest: BackupManifest };

/** A backup that fails its own checks; the message names the table or chunk. */
export class BackupIntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupIntegrityError';
  }
}

const contextOf = (backupId: string) => `backup:${backupId}`;

function frame(type: string, payload: Buffer): Buffer {
  const head = Buffer.alloc(FRAME_HEADER);
  head.write(type, 0, 'ascii');
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/** Counts rows of COPY text output: every row ends in a newline, and a newline in a value is `\n`. */
export function copyRows(bytes: Buffer): number {
  let count = 0;
  for (let at = bytes.indexOf(10); at !== -1; at = bytes.indexOf(10, at + 1)) count += 1;
  return count;
}

/**
 * Writes one backup into `out`. Call {@link table} for each table in turn, then {@link finish}.
 */
/** Brotli quality 1: COPY text to about a third, several times faster than gzip (docs/performance.md). */
const COMPRESSION_QUALITY = 1;
/** Blocks compressed at once: the backup's other work (PostgreSQL, hashing, sealing) needs a core too. */
const COMPRESSION_PARALLEL = 3;

export class BackupWriter {
  private readonly plain = new PassThrough({ highWaterMark: 4 * MAX_DATA_FRAME });
  private readonly done: Promise<void>;
  private readonly digests: TableDigest[] = [];

  constructor(
    out: Writable,
    wrapper: KeyWrapper,
    private readonly header: BackupHeader,
  ) {
    this.done = pipeline(
      this.plain,
      compressInBlocks({ quality: COMPRESSION_QUALITY, parallel: COMPRESSION_PARALLEL }),
      sealingStream(masterKeyring(wrapper), contextOf(header.backupId)),
      out,
    );
    this.done.catch(() => undefined); // awaited in finish(); a failure also ends the writes
  }

  async begin(): Promise<void> {
    await this.write(frame('H', Buffer.from(JSON.stringify(this.header))));
  }

  /** One table's COPY text, streamed through; its digest is recorded. */
  async table(
    name: string,
    columns: readonly string[],
    copyText: AsyncIterable<Buffer> | Iterable<Buffer>,
  ): Promise<TableDigest> {
    await this.write(frame('T', Buffer.from(JSON.stringify({ name, columns }))));
    const hash = createHash('sha256');
    let rows = 0;
    let bytes = 0;
    for await (const chunk of copyText) {
      for (let at = 0; at < chunk.length; at += MAX_DATA_FRAME) {
        const piece = chunk.subarray(at, at + MAX_DATA_FRAME);
        hash.update(piece);
        rows += copyRows(piece);
        bytes += piece.length;
        await this.write(frame('D', piece));
      }
    }
    const digest = { name, rows, bytes, sha256: hash.digest('hex') };
    await this.write(frame('E', Buffer.from(JSON.stringify(digest))));
    this.digests.push(digest);
    return digest;
  }

  /** Writes the manifest, ends the stream and waits until every byte is out. */
  async finish(): Promise<BackupManifest> {
    const manifest = { backupId: this.header.backupId, tables: this.digests };
    await this.write(frame('M', Buffer.from(JSON.stringify(manifest))));
    this.plain.end();
    await this.done;
    return manifest;
  }

  /** Stops the backup: the output is left unfinished (and will never open). */
  abort(error: Error): void {
    this.plain.destroy(error);
  }

  private async write(bytes: Buffer): Promise<void> {
    if (!this.plain.write(bytes)) {
      await Promise.race([
        once(this.plain, 'drain'),
        this.done.then(() => Promise.reject(new Error('the backup output ended'))),
      ]);
    }
  }
}

/**
 * Reads a backup: decrypts, decompresses and parses it, and checks each table's rows and hash
 * against its `E` frame and the manifest against them all. Events are yielded as they are read,
 * so a consumer (a restore) must treat nothing as final until the generator has returned: a
 * tampered or cut stream throws at the chunk it reaches, which may be the very end.
 */
export async function* readBackup(
  input: Readable,
  wrapper: KeyWrapper,
  backupId: string,
): AsyncGenerator<BackupEvent> {
  const plain = decompressing();
  // An error anywhere in the chain (a chunk that does not open, a broken input) ends the last
  // stage with it, where the loop below meets it.
  pipelineCallback(input, openingStream(masterKeyring(wrapper), contextOf(backupId)), plain, (error) => {
    if (error) plain.destroy(error);
  });
  let buffered: Buffer = Buffer.alloc(0);
  let header: BackupHeader | null = null;
  let table: { name: string; hash: Hash; rows: number; bytes: number } | null = null;
  const digests: TableDigest[] = [];
  let manifest: BackupManifest | null = null;

  const fail = (message: string): never => {
    throw new BackupIntegrityError(message);
  };

  for await (const chunk of plain as AsyncIterable<Buffer>) {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    while (buffered.length >= FRAME_HEADER) {
      const type = String.fromCharCode(buffered[0]!);
      const length = buffered.readUInt32BE(1);
      if (type !== 'D' && length > MAX_JSON_FRAME) fail(`a ${type} frame of ${length} bytes`);
      if (type === 'D' && length > MAX_DATA_FRAME) fail(`a data frame of ${length} bytes`);
      if (buffered.length < FRAME_HEADER + length) break;
      const payload = buffered.subarray(FRAME_HEADER, FRAME_HEADER + length);
      buffered = buffered.subarray(FRAME_HEADER + length);
      if (manifest) fail('data after the manifest');
      if (!header && type !== 'H') fail('the backup does not start with its header');
      switch (type) {
        case 'H': {
          if (header) fail('a second header');
          header = JSON.parse(payload.toString('utf8')) as BackupHeader;
          if (header.format !== BACKUP_FORMAT) fail(`format ${header.format} is not ${BACKUP_FORMAT}`);
          if (header.backupId !== backupId) fail('the header names another backup');
          yield { kind: 'header', header };
          break;
        }
        case 'T': {
          if (table) fail(`table ${table.name} has no end`);
          const started = JSON.parse(payload.toString('utf8')) as { name: string; columns: string[] };
          table = { name: started.name, hash: createHash('sha256'), rows: 0, bytes: 0 };
          yield { kind: 'table', name: started.name, columns: started.columns };
          break;
        }
        case 'D': {
          if (!table) fail('data outside a table');
          const bytes = Buffer.from(payload);
          table!.hash.update(bytes);
          table!.rows += copyRows(bytes);
          table!.bytes += bytes.length;
          yield { kind: 'data', name: table!.name, bytes };
          break;
        }
        case 'E': {
          if (!table) fail('a table end outside a table');
          const recorded = JSON.parse(payload.toString('utf8')) as TableDigest;
          const digest = {
            name: table!.name,
            rows: table!.rows,
            bytes: table!.bytes,
            sha256: table!.hash.digest('hex'),
          };
          if (
            recorded.name !== digest.name ||
            recorded.rows !== digest.rows ||
            recorded.bytes !== digest.bytes ||
            recorded.sha256 !== digest.sha256
          ) {
            fail(`table ${digest.name}: its data does not match its recorded rows and hash`);
          }
          digests.push(digest);
          table = null;
          yield { kind: 'table-end', digest };
          break;
        }
        case 'M': {
          if (table) fail(`table ${table.name} has no end`);
          const read = JSON.parse(payload.toString('utf8')) as BackupManifest;
          if (read.backupId !== backupId || JSON.stringify(read.tables) !== JSON.stringify(digests)) {
            fail('the manifest does not match the tables read');
          }
          manifest = read;
          break;
        }
        default:
          fail(`an unknown frame type ${JSON.stringify(type)}`);
      }
    }
  }
  if (buffered.length > 0) fail('the backup ends inside a frame');
  if (!manifest) fail('the backup ends without its manifest');
  yield { kind: 'manifest', manifest: manifest! };
}
