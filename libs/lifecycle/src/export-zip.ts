import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ZipFile } from 'yazl';

/** What the archive holds of one file: its bytes and their SHA-256 (hex), as written. */
export interface WrittenFile {
  path: string;
  size: number;
  sha256: string;
}

/**
 * A zip archive written as a stream, one file after another: a file's content is pulled from its
 * source only when the archive reaches it, so nothing is held in memory but the chunk in flight.
 * Each file's size and SHA-256 are taken from the bytes as they pass. The first error (a source
 * that fails, or the consumer of `output` going away through {@link fail}) ends `output` with that
 * error and rejects every file still waiting, so the store that reads `output` keeps nothing.
 */
export class ExportZip {
  private readonly zip = new ZipFile();
  readonly output: Readable;
  private failure: Error | null = null;
  private rejectAll: (error: Error) => void = () => undefined;
  private readonly failed: Promise<never>;

  constructor(private readonly mtime: Date) {
    this.output = this.zip.outputStream as Readable;
    this.failed = new Promise<never>((_resolve, reject) => (this.rejectAll = reject));
    this.failed.catch(() => undefined); // observed by every add(); this only keeps it "handled"
    this.zip.on('error', (error: Error) => this.fail(error));
  }

  /**
   * Adds `path` with the bytes `source` yields; resolves once they are all in the archive.
   * `compress`: false for content that is already compressed (photos, PDFs).
   */
  add(path: string, source: AsyncIterable<Buffer>, compress = true): Promise<WrittenFile> {
    if (this.failure) return Promise.reject(this.failure);
    const written = new Promise<WrittenFile>((resolve, reject) => {
      this.zip.addReadStreamLazy(path, { compress, mtime: this.mtime }, (give) => {
        const hash = createHash('sha256');
        let size = 0;
        const measured = (async function* () {
          for await (const chunk of source) {
            hash.update(chunk);
            size += chunk.length;
            yield chunk;
          }
        })();
        const stream = Readable.from(measured, { objectMode: false });
        stream.once('error', (error: Error) => {
          this.fail(error);
          reject(error);
        });
        stream.once('end', () => resolve({ path, size, sha256: hash.digest('hex') }));
        give(null, stream);
      });
    });
    return Promise.race([written, this.failed]);
  }

  /** Adds a small file held whole (the manifest) and ends the archive. */
  finish(path: string, content: Buffer): void {
    if (this.failure) return;
    this.zip.addBuffer(content, path, { mtime: this.mtime });
    this.zip.end();
  }

  /** Ends the archive with `error`: `output` fails, and so does every file not yet written. */
  fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.rejectAll(error);
    this.output.destroy(error);
  }
}
