import { createSecretKey, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { DecryptionError, open, seal } from './aead';
import { openingStream, sealingStream, STREAM_CHUNK_BYTES, type StreamKeyring } from './stream-cipher';

/** A keyring over one AES key, as a tenant's data key would be. */
function keyringOf(keyId = 'k1'): StreamKeyring {
  const key = createSecretKey(randomBytes(32));
  return {
    wrap: (streamKey, context) =>
      Promise.resolve({ keyId, wrapped: seal(key, streamKey, `stream:${context}`) }),
    unwrap: (id, wrapped, context) =>
      id === keyId
        ? Promise.resolve(open(key, wrapped, `stream:${context}`))
        : Promise.reject(new Error('unknown key')),
  };
}

/** Feeds `bytes` in pieces of `piece` bytes, so chunk boundaries never line up with writes. */
function streamOf(bytes: Buffer, piece = 10_007): Readable {
  const pieces: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += piece) pieces.push(bytes.subarray(at, at + piece));
  return Readable.from(pieces);
}

const encrypt = (keyring: StreamKeyring, plaintext: Buffer, context = 'tenants/a/x') =>
  buffer(streamOf(plaintext).pipe(sealingStream(keyring, context)));
const decrypt = (keyring: StreamKeyring, sealed: Buffer, context = 'tenants/a/x', piece?: number) =>
  buffer(streamOf(sealed, piece).pipe(openingStream(keyring, context)));

const SEALED_CHUNK = STREAM_CHUNK_BYTES + 16;
/** Header length of a sealed stream: everything before the first chunk. */
const headerLength = (sealed: Buffer) => 11 + sealed.readUInt8(8) + sealed.readUInt16BE(9) + 7;
function chunksOf(sealed: Buffer): { header: Buffer; chunks: Buffer[] } {
  const length = headerLength(sealed);
  const chunks: Buffer[] = [];
  for (let at = length; at < sealed.length; at += SEALED_CHUNK)
    chunks.push(sealed.subarray(at, at + SEALED_CHUNK));
  return { header: sealed.subarray(0, length), chunks };
}

describe('sealingStream / openingStream (STREAM over AES-256-GCM)', () => {
  const keyring = keyringOf();

  it.each([
    0,
    1,
    100,
    STREAM_CHUNK_BYTES - 1,
    STREAM_CHUNK_BYTES,
    STREAM_CHUNK_BYTES + 1,
    3 * STREAM_CHUNK_BYTES,
    1_000_003,
  ])('round-trips %i bytes, whatever the read sizes', async (size) => {
    const plaintext = randomBytes(size);
    const sealed = await encrypt(keyring, plaintext);
    expect((await decrypt(keyring, sealed)).equals(plaintext)).toBe(true);
    expect((await decrypt(keyring, sealed, undefined, 1)).equals(plaintext)).toBe(true);
    expect((await decrypt(keyring, sealed, undefined, SEALED_CHUNK)).equals(plaintext)).toBe(true);
    // one chunk per started 64 KiB; an empty stream still has its (empty) final chunk
    const chunks = Math.max(1, Math.ceil(size / STREAM_CHUNK_BYTES));
    expect(sealed.length).toBe(headerLength(sealed) + size + 16 * chunks);
  });

  it('leaves no plaintext in the sealed bytes, and two sealings of the same bytes differ', async () => {
    const marker = Buffer.from('FORECOURT-PLAINTEXT-MARKER');
    const plaintext = Buffer.concat(Array.from({ length: 5000 }, () => marker));
    const first = await encrypt(keyring, plaintext);
    const second = await encrypt(keyring, plaintext);
    expect(first.includes(marker)).toBe(false);
    expect(first.includes(Buffer.from('PLAINTEXT'))).toBe(false);
    expect(first.equals(second)).toBe(false);
  });

  describe('refuses a tampered stream', () => {
    const plaintext = randomBytes(4 * STREAM_CHUNK_BYTES + 500);
    let sealed: Buffer;
    beforeAll(async () => {
      sealed = await encrypt(keyring, plaintext);
    });
    const refused = (bytes: Buffer, context?: string, ring = keyring) =>
      expect(decrypt(ring, bytes, context)).rejects.toBeInstanceOf(DecryptionError);

    it('one flipped bit anywhere: header, key id, wrapped key, nonce prefix, body, tag', async () => {
      const length = headerLength(sealed);
      for (const at of [
        0,
        5,
        9,
        12,
        length - 8,
        length - 1,
        length,
        length + 1000,
        length + SEALED_CHUNK - 1,
        sealed.length - 1,
      ]) {
        const copy = Buffer.from(sealed);
        copy[at]! ^= 0x01;
        await refused(copy);
      }
    });

    it('names the chunk that failed', async () => {
      const copy = Buffer.from(sealed);
      copy[headerLength(sealed) + 2 * SEALED_CHUNK + 7]! ^= 0x01;
      await expect(decrypt(keyring, copy)).rejects.toThrow(/\(chunk 2\)/);
      await expect(decrypt(keyring, sealed.subarray(0, sealed.length - 3))).rejects.toThrow(
        /chunk 4, the last/,
      );
    });

    it('two chunks swapped', async () => {
      const { header, chunks } = chunksOf(sealed);
      await refused(Buffer.concat([header, chunks[1]!, chunks[0]!, ...chunks.slice(2)]));
    });

    it('a chunk dropped from the middle', async () => {
      const { header, chunks } = chunksOf(sealed);
      await refused(Buffer.concat([header, chunks[0]!, ...chunks.slice(2)]));
    });

    it('cut at a chunk boundary (the last-chunk flag is missing)', async () => {
      const { header, chunks } = chunksOf(sealed);
      await refused(Buffer.concat([header, ...chunks.slice(0, 2)]));
    });

    it('cut inside a chunk, cut inside the header, nothing at all', async () => {
      await refused(sealed.subarray(0, sealed.length - 100));
      await refused(sealed.subarray(0, 20));
      await refused(Buffer.alloc(0));
    });

    it('a chunk appended after the last one', async () => {
      const { chunks } = chunksOf(sealed);
      await refused(Buffer.concat([sealed, chunks[1]!]));
    });

    it('a chunk taken from another stream under the same keyring', async () => {
      const other = chunksOf(await encrypt(keyring, randomBytes(plaintext.length)));
      const { header, chunks } = chunksOf(sealed);
      await refused(Buffer.concat([header, chunks[0]!, other.chunks[1]!, ...chunks.slice(2)]));
    });

    it('opened in another place (context) or with another key', async () => {
      await refused(sealed, 'tenants/a/y');
      await refused(sealed, undefined, keyringOf());
      await refused(sealed, undefined, keyringOf('k2'));
    });

    it('passes on no byte of a chunk that fails', async () => {
      const copy = Buffer.from(sealed);
      copy[headerLength(sealed) + 10]! ^= 0x01;
      const received: Buffer[] = [];
      const opening = streamOf(copy).pipe(openingStream(keyring, 'tenants/a/x'));
      opening.on('data', (chunk: Buffer) => received.push(chunk));
      await expect(
        new Promise((resolve, reject) => opening.on('end', resolve).on('error', reject)),
      ).rejects.toBeInstanceOf(DecryptionError);
      expect(Buffer.concat(received).length).toBe(0);
    });
  });
});
