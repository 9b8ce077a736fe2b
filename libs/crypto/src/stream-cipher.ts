import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { DecryptionError } from './aead';
import type { KeyWrapper } from './envelope';

/**
 * Who wraps the per-stream key: a tenant's data key for its files, the master key for platform
 * objects, a per-backup key for backups. `keyId` goes into the header so the reader finds the
 * same key again; `context` (e.g. the object key) is bound into the wrapping, so a stream copied
 * to another place or another tenant does not open.
 */
export interface StreamKeyring {
  wrap(streamKey: Buffer, context: string): Promise<{ keyId: string; wrapped: Buffer }>;
  unwrap(keyId: string, wrapped: Buffer, context: string): Promise<Buffer>;
}

const MAGIC = Buffer.from('FCS1', 'ascii');
/** Plaintext bytes per chunk: large enough for speed, small enough that memory stays flat. */
export const STREAM_CHUNK_BYTES = 64 * 1024;
const TAG_BYTES = 16;
const PREFIX_BYTES = 7;
const MAX_CHUNKS = 2 ** 32;
/** magic, chunk size, key id length, wrapped key length: the fixed part before the variable ones. */
const FIXED_HEADER_BYTES = MAGIC.length + 4 + 1 + 2;
const MAX_HEADER_BYTES = FIXED_HEADER_BYTES + 255 + 0xffff + PREFIX_BYTES;

/**
 * Nonce of chunk `index`: `prefix(7) | index(4, big-endian) | last(1)` — the STREAM construction
 * (Hoang, Reyhanitabar, Rogaway, Vizár 2015). The index rejects swapped or dropped chunks, the
 * last-flag a stream cut at a chunk boundary, the fresh key per stream any nonce reuse.
 */
function nonceOf(prefix: Buffer, index: number, last: boolean): Buffer {
  const nonce = Buffer.alloc(PREFIX_BYTES + 5);
  prefix.copy(nonce, 0);
  nonce.writeUInt32BE(index, PREFIX_BYTES);
  nonce[PREFIX_BYTES + 4] = last ? 1 : 0;
  return nonce;
}

/**
 * Encrypts a byte stream in 64 KiB AES-256-GCM chunks under a fresh random key, which the
 * keyring wraps into the header. The header is the associated data of every chunk, so changing
 * any header byte (key id, wrapped key, chunk size) fails the first chunk.
 */
export function sealingStream(keyring: StreamKeyring, context: string): Transform {
  const streamKey = randomBytes(32);
  const prefix = randomBytes(PREFIX_BYTES);
  let header: Buffer | null = null;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let index = 0;

  const sealChunk = (plaintext: Buffer, last: boolean): Buffer => {
    if (index >= MAX_CHUNKS) throw new Error('stream too long for one encryption key');
    const cipher = createCipheriv('aes-256-gcm', streamKey, nonceOf(prefix, index++, last), {
      authTagLength: TAG_BYTES,
    });
    cipher.setAAD(header!);
    return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  };

  const start = async (stream: Transform): Promise<void> => {
    if (header) return;
    const { keyId, wrapped } = await keyring.wrap(streamKey, context);
    const id = Buffer.from(keyId, 'utf8');
    if (id.length > 255 || wrapped.length > 0xffff) throw new Error('key id or wrapped key too long');
    const fixed = Buffer.alloc(FIXED_HEADER_BYTES);
    MAGIC.copy(fixed, 0);
    fixed.writeUInt32BE(STREAM_CHUNK_BYTES, 4);
    fixed.writeUInt8(id.length, 8);
    fixed.writeUInt16BE(wrapped.length, 9);
    header = Buffer.concat([fixed, id, wrapped, prefix]);
    stream.push(header);
  };

  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      start(this)
        .then(() => {
          pending.push(chunk);
          pendingBytes += chunk.length;
          // Keep at least one byte back: only the final chunk may be sealed as the last one.
          if (pendingBytes > STREAM_CHUNK_BYTES) {
            let all = Buffer.concat(pending, pendingBytes);
            while (all.length > STREAM_CHUNK_BYTES) {
              this.push(sealChunk(all.subarray(0, STREAM_CHUNK_BYTES), false));
              all = all.subarray(STREAM_CHUNK_BYTES);
            }
            pending = [all];
            pendingBytes = all.length;
          }
          done();
        })
        .catch(done);
    },
    flush(done: TransformCallback) {
      start(this)
        .then(() => {
          this.push(sealChunk(Buffer.concat(pending, pendingBytes), true));
          pending = [];
          done();
        })
        .catch(done);
    },
  });
}

/**
 * The keyring of streams sealed under the master key itself (platform objects, backups): the
 * stream key is wrapped by the master key, bound to the stream's context.
 */
export function masterKeyring(wrapper: KeyWrapper): StreamKeyring {
  return {
    wrap: (streamKey, context) =>
      Promise.resolve({ keyId: 'master', wrapped: wrapper.wrap(streamKey, `stream:${context}`) }),
    unwrap: (keyId, wrapped, context) =>
      keyId === 'master'
        ? Promise.resolve(wrapper.unwrapBytes(wrapped, `stream:${context}`))
        : Promise.reject(new DecryptionError('not sealed under the master key')),
  };
}

/**
 * Decrypts what `sealingStream` wrote. Each chunk is authenticated before a byte of it is passed
 * on; a flipped, swapped, dropped, appended or cut-off chunk — or a wrong key, tenant or context —
 * ends the stream with a `DecryptionError`. A cut at a chunk boundary is only noticed at the end
 * (the last chunk is missing its flag), so consumers must treat the stream as failed until it ends.
 */
export function openingStream(keyring: StreamKeyring, context: string): Transform {
  let buffered: Buffer = Buffer.alloc(0);
  let header: Buffer | null = null;
  let streamKey: Buffer | null = null;
  let prefix: Buffer | null = null;
  let sealedChunkBytes = 0;
  let index = 0;

  const openChunk = (sealed: Buffer, last: boolean): Buffer => {
    if (sealed.length < TAG_BYTES || index >= MAX_CHUNKS) throw new DecryptionError(`chunk ${index}`);
    const where = `chunk ${index}${last ? ', the last' : ''}`;
    try {
      const decipher = createDecipheriv('aes-256-gcm', streamKey!, nonceOf(prefix!, index++, last), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(header!);
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      return Buffer.concat([
        decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      throw new DecryptionError(where);
    }
  };

  /** Reads the header once enough bytes are in; false while more are needed. */
  const readHeader = async (): Promise<boolean> => {
    if (buffered.length < FIXED_HEADER_BYTES) return false;
    if (!buffered.subarray(0, MAGIC.length).equals(MAGIC)) throw new DecryptionError('the header');
    const chunkBytes = buffered.readUInt32BE(4);
    const idBytes = buffered.readUInt8(8);
    const wrappedBytes = buffered.readUInt16BE(9);
    const total = FIXED_HEADER_BYTES + idBytes + wrappedBytes + PREFIX_BYTES;
    if (chunkBytes !== STREAM_CHUNK_BYTES || total > MAX_HEADER_BYTES)
      throw new DecryptionError('the header');
    if (buffered.length < total) return false;
    const keyId = buffered.subarray(FIXED_HEADER_BYTES, FIXED_HEADER_BYTES + idBytes).toString('utf8');
    const wrapped = buffered.subarray(
      FIXED_HEADER_BYTES + idBytes,
      FIXED_HEADER_BYTES + idBytes + wrappedBytes,
    );
    try {
      streamKey = await keyring.unwrap(keyId, Buffer.from(wrapped), context);
    } catch {
      throw new DecryptionError('the stream key does not open under this keyring');
    }
    if (streamKey.length !== 32) throw new DecryptionError('the header');
    header = Buffer.from(buffered.subarray(0, total));
    prefix = header.subarray(total - PREFIX_BYTES);
    sealedChunkBytes = chunkBytes + TAG_BYTES;
    buffered = buffered.subarray(total);
    return true;
  };

  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      (header ? Promise.resolve(true) : readHeader())
        .then((ready) => {
          if (!ready) return done();
          // More than one sealed chunk buffered: the first is certainly not the last one.
          while (buffered.length > sealedChunkBytes) {
            this.push(openChunk(buffered.subarray(0, sealedChunkBytes), false));
            buffered = buffered.subarray(sealedChunkBytes);
          }
          done();
        })
        .catch(done);
    },
    flush(done: TransformCallback) {
      (header ? Promise.resolve(true) : readHeader())
        .then((ready) => {
          if (!ready) throw new DecryptionError('the header is cut short');
          this.push(openChunk(buffered, true));
          done();
        })
        .catch(done);
    },
  });
}
