import type { Readable } from 'node:stream';

/** Object keys: `/`-separated segments of letters, digits, `.`, `_`, `-`; no empty or dot-only segment. */
const KEY = /^(?!.*(?:^|\/)\.{1,2}(?:\/|$))[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;

export class ObjectKeyError extends Error {
  constructor(key: string) {
    super(`not a valid object key: ${JSON.stringify(key.slice(0, 200))}`);
    this.name = 'ObjectKeyError';
  }
}

export function checkedKey(key: string): string {
  if (!KEY.test(key)) throw new ObjectKeyError(key);
  return key;
}

/**
 * Where object bytes rest: local files or an S3-compatible bucket. A driver moves bytes it is
 * given — already encrypted by `ObjectStore` — and knows nothing of tenants or encryption keys.
 * Every method refuses a key (or prefix) that {@link checkedKey} refuses, with
 * {@link ObjectKeyError}, before touching storage.
 */
export interface ObjectDriver {
  /** `local` or `s3`, for logs and health. */
  readonly kind: 'local' | 's3';
  /**
   * Writes `body` as the object `key`, streaming: the object appears whole once the stream has
   * ended, or not at all — when `body` errors midway nothing is left behind (no partial file, no
   * dangling multipart upload) and the promise rejects with the stream's error. A rejected write
   * has destroyed `body`, so whatever feeds it (say a request being uploaded) is not left hanging.
   */
  write(key: string, body: Readable): Promise<void>;
  /** The object's bytes as a stream, or null when there is no such object. */
  read(key: string): Promise<Readable | null>;
  /** Removes the object; removing one that does not exist is not an error. */
  delete(key: string): Promise<void>;
  /**
   * Every key under `prefix/` (at any depth), sorted by code unit (which for valid keys is S3's
   * byte order); `[]` when there are none. `prefix` is itself a valid key, without a trailing `/`.
   */
  list(prefix: string): Promise<string[]>;
  /** Whether objects can be stored right now (the folder is writable; the bucket answers). */
  reachable(): Promise<boolean>;
}
