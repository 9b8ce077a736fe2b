import { Inject, Injectable } from '@nestjs/common';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { APP_CONFIG, type AppConfig } from '@forecourt/config';

/** Object keys: `/`-separated segments of letters, digits, `.`, `_`, `-`; no empty or dot-only segment. */
const KEY = /^(?!.*(?:^|\/)\.{1,2}(?:\/|$))[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;

export class ObjectKeyError extends Error {
  constructor(key: string) {
    super(`not a valid object key: ${JSON.stringify(key.slice(0, 200))}`);
    this.name = 'ObjectKeyError';
  }
}

function checkedKey(key: string): string {
  if (!KEY.test(key)) throw new ObjectKeyError(key);
  return key;
}

/**
 * Objects kept outside the database, under `DATA_DIR/objects` (the S3-compatible driver and
 * encryption of tenant files arrive with inventory media). A write is atomic: the object appears
 * whole or not at all.
 */
@Injectable()
export class ObjectStore {
  private readonly root: string;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.root = join(config.dataDir, 'objects');
  }

  async put(key: string, body: Buffer | string): Promise<void> {
    const path = join(this.root, checkedKey(key));
    await mkdir(dirname(path), { recursive: true });
    const temporary = `${path}.${randomBytes(6).toString('hex')}.partial`;
    await writeFile(temporary, body, { mode: 0o600 });
    await rename(temporary, path);
  }

  /** The object's bytes, or null when there is none. */
  async get(key: string): Promise<Buffer | null> {
    try {
      return await readFile(join(this.root, checkedKey(key)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  /** Keys directly under `prefix` (a folder-like key ending without `/`), sorted. */
  async list(prefix: string): Promise<string[]> {
    try {
      const names = await readdir(join(this.root, checkedKey(prefix)), { withFileTypes: true });
      return names
        .filter((entry) => entry.isFile() && !entry.name.endsWith('.partial'))
        .map((entry) => `${prefix}/${entry.name}`)
        .sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }
}
