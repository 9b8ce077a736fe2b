import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { type Entry, fromBuffer, open, type ZipFile } from 'yauzl';

/** One file of an archive as read back: its size, SHA-256, line count and (when kept) bytes. */
export interface ArchiveFile {
  name: string;
  size: number;
  sha256: string;
  /** Newline characters in the file. */
  lines: number;
  bytes: Buffer | null;
}

/**
 * Reads every file of a zip (a buffer, or a file's path) entry by entry, checking each entry's
 * CRC as yauzl does; the bytes are kept only for the files `keep` names, so a large archive is
 * read in constant memory.
 */
export async function readArchive(
  source: Buffer | string,
  keep: (name: string) => boolean = () => true,
): Promise<Map<string, ArchiveFile>> {
  const zip = await new Promise<ZipFile>((resolve, reject) => {
    const done = (error: Error | null, file?: ZipFile) =>
      error || !file ? reject(error ?? new Error('not a zip')) : resolve(file);
    if (typeof source === 'string') open(source, { lazyEntries: true }, done);
    else fromBuffer(source, { lazyEntries: true }, done);
  });
  const files = new Map<string, ArchiveFile>();
  return new Promise((resolve, reject) => {
    zip.on('error', reject);
    zip.on('end', () => resolve(files));
    zip.on('entry', (entry: Entry) => {
      zip.openReadStream(entry, (error, stream) => {
        if (error || !stream) return reject(error ?? new Error('no stream'));
        void measure(stream, keep(entry.fileName)).then((measured) => {
          files.set(entry.fileName, { name: entry.fileName, ...measured });
          zip.readEntry();
        }, reject);
      });
    });
    zip.readEntry();
  });
}

async function measure(stream: Readable, keep: boolean): Promise<Omit<ArchiveFile, 'name'>> {
  const hash = createHash('sha256');
  const kept: Buffer[] = [];
  let size = 0;
  let lines = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
    for (const byte of chunk) if (byte === 0x0a) lines += 1;
    if (keep) kept.push(chunk);
  }
  return { size, sha256: hash.digest('hex'), lines, bytes: keep ? Buffer.concat(kept) : null };
}
