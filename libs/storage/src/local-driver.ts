import { randomBytes } from 'node:crypto';
import { constants, createWriteStream } from 'node:fs';
import { access, mkdir, open, readdir, rename, rm, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { checkedKey, type ObjectDriver } from './object-driver';

/** A write in progress: `<key>.<12 hex>.partial`, next to where the object will be. */
const PARTIAL = /\.[0-9a-f]{12}\.partial$/;

function partialPathFor(path: string): string {
  return `${path}.${randomBytes(6).toString('hex')}.partial`;
}

/**
 * Whether a filesystem error means "there is no such object": the file is missing, a parent of
 * it is a file (ENOTDIR), or the key names a folder of other objects (EISDIR).
 */
function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}

/**
 * Objects as files under one folder (the app uses `DATA_DIR/objects`), a key's `/` being
 * sub-folders. Files are created 0600: only the service's own user reads them.
 */
export class LocalObjectDriver implements ObjectDriver {
  readonly kind = 'local' as const;

  constructor(private readonly root: string) {}

  async reachable(): Promise<boolean> {
    try {
      await mkdir(this.root, { recursive: true });
      await access(this.root, constants.W_OK);
      return true;
    } catch {
      return false;
    }
  }

  async write(key: string, body: Readable): Promise<void> {
    try {
      await this.writeFile(this.pathOf(key), body);
    } catch (error) {
      body.destroy();
      throw error;
    }
  }

  async read(key: string): Promise<Readable | null> {
    let file;
    try {
      file = await open(this.pathOf(key), 'r');
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
    try {
      // Opening a folder succeeds on Linux; a folder is not an object.
      if ((await file.stat()).isFile()) return file.createReadStream();
    } catch (error) {
      await file.close();
      throw error;
    }
    await file.close();
    return null;
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.pathOf(key));
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    await this.collect(this.pathOf(prefix), prefix, keys);
    return keys.sort();
  }

  private pathOf(key: string): string {
    return join(this.root, checkedKey(key));
  }

  /** Streams into a private temporary file, renamed into place only once `body` has ended. */
  private async writeFile(path: string, body: Readable): Promise<void> {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const partial = partialPathFor(path);
    try {
      await pipeline(body, createWriteStream(partial, { flags: 'wx', mode: 0o600 }));
      await rename(partial, path);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
  }

  /** Adds the keys of every object under `folder` (whose key is `prefix`) to `keys`. */
  private async collect(folder: string, prefix: string, keys: string[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    for (const entry of entries) {
      const key = `${prefix}/${entry.name}`;
      if (entry.isDirectory()) await this.collect(join(folder, entry.name), key, keys);
      else if (entry.isFile() && !PARTIAL.test(entry.name)) keys.push(key);
    }
  }
}
