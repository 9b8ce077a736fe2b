import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { BLOCK, compressInBlocks, CompressedStreamError, decompressing } from './block-compression';

/** Pipes `pieces` through `transform` and gathers what comes out. */
async function through(pieces: Buffer[], transform: NodeJS.ReadWriteStream): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(pieces),
    transform,
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        out.push(chunk);
        callback();
      },
    }),
  );
  return Buffer.concat(out);
}

/** `bytes` cut into pieces of changing, odd sizes (1 byte up to 200 KB). */
function cut(bytes: Buffer): Buffer[] {
  const pieces: Buffer[] = [];
  for (let at = 0, size = 1; at < bytes.length; at += size, size = (size * 7 + 13) % 200_000 || 1)
    pieces.push(bytes.subarray(at, at + size));
  return pieces;
}

const compress = (pieces: Buffer[], parallel = 2) =>
  through(pieces, compressInBlocks({ quality: 1, parallel }));
const decompress = (pieces: Buffer[]) => through(pieces, decompressing());

describe('compressInBlocks and decompressing', () => {
  // Compressible text and incompressible bytes, across the 1 MiB blocks.
  const text = Buffer.from('tenant\tcustomer\tAnna Schmidt\tBerlin\n'.repeat(120_000));
  const input = Buffer.concat([text, randomBytes(3 * BLOCK + 17), text]);

  it('read back exactly the input, in order, whatever the pieces and the parallelism', async () => {
    for (const parallel of [1, 2, 4]) {
      const compressed = await compress(cut(input), parallel);
      expect((await decompress(cut(compressed))).equals(input)).toBe(true);
    }
  });

  it('compress: text shrinks', async () => {
    const rows = Buffer.from(
      '01a2c0de-0000-4000-8000-000000000007\tdealer_sales\tcustomer.read\n'.repeat(50_000),
    );
    expect((await compress([rows])).length).toBeLessThan(rows.length / 10);
  });

  it('read back nothing from no input', async () => {
    expect((await decompress([await compress([])])).length).toBe(0);
  });

  it('read a gzip stream too (backups written before the blocks), members and all', async () => {
    const gzip = Buffer.concat([gzipSync(text), gzipSync(input)]);
    expect((await decompress(cut(gzip))).equals(Buffer.concat([text, input]))).toBe(true);
  });

  it('refuse a stream cut inside a block, an impossible block length, and anything else', async () => {
    const compressed = await compress([input]);
    await expect(decompress([compressed.subarray(0, compressed.length - 5)])).rejects.toThrow(
      'the stream ends inside a block',
    );
    // Damage inside a block is the sealing layer's to find (brotli has no checksum); a block
    // length that cannot be is refused here before anything is allocated for it.
    const damaged = Buffer.from(compressed);
    damaged.writeUInt32BE(0xffffffff, 4);
    await expect(decompress([damaged])).rejects.toThrow(
      new CompressedStreamError('a compressed block of 4294967295 bytes'),
    );
    await expect(decompress([Buffer.from('plain text, not compressed')])).rejects.toThrow(
      'neither compressed blocks nor gzip',
    );
    await expect(decompress([])).rejects.toThrow('ends before it starts');
  });
});
