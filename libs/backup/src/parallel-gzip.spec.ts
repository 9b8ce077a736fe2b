import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import { parallelGzip } from './parallel-gzip';

/** Pipes `pieces` through a parallel gzip and gathers what comes out. */
async function compressed(pieces: Buffer[], parallel = 2): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(pieces),
    parallelGzip({ level: 1, parallel }),
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        out.push(chunk);
        callback();
      },
    }),
  );
  return Buffer.concat(out);
}

describe('parallelGzip', () => {
  it('gunzips to exactly the input, in order, across many blocks and odd piece sizes', async () => {
    // Compressible text and incompressible bytes, cut into pieces that straddle the 1 MiB blocks.
    const text = Buffer.from('tenant\tcustomer\tAnna Schmidt\tBerlin\n'.repeat(120_000));
    const noise = randomBytes(3 * 1024 * 1024 + 17);
    const input = Buffer.concat([text, noise, text]);
    const pieces: Buffer[] = [];
    for (let at = 0, size = 1; at < input.length; at += size, size = (size * 7 + 13) % 200_000 || 1)
      pieces.push(input.subarray(at, at + size));
    for (const parallel of [1, 2, 4]) {
      const output = await compressed(pieces, parallel);
      expect(gunzipSync(output).equals(input)).toBe(true);
    }
  });

  it('compresses: text shrinks', async () => {
    const text = Buffer.from(
      '01a2c0de-0000-4000-8000-000000000007\tdealer_sales\tcustomer.read\n'.repeat(50_000),
    );
    expect((await compressed([text])).length).toBeLessThan(text.length / 10);
  });

  it('writes a valid (empty) gzip stream for no input', async () => {
    expect(gunzipSync(await compressed([])).length).toBe(0);
  });
});
