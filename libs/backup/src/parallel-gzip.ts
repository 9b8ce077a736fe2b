import { Transform, type TransformCallback } from 'node:stream';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

const gzipBlock = promisify(gzip);

/** Bytes compressed as one gzip member. */
const BLOCK = 1024 * 1024;

/**
 * gzip on more than one core: the input is cut into 1 MiB blocks, each compressed as a gzip
 * member of its own on libuv's thread pool, `parallel` at a time, and written out in order. A
 * gzip file may hold several members one after the other (RFC 1952), and `gunzip` reads them as
 * one stream, so a reader needs nothing special. One stream compresses on one core only, which
 * made compression a backup's bottleneck; memory stays bounded at about `parallel` + 1 blocks.
 */
export function parallelGzip({ level, parallel }: { level: number; parallel: number }): Transform {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const inFlight: Promise<Buffer>[] = [];

  const dispatch = () => {
    const block = Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    const compressed = gzipBlock(block, { level, chunkSize: BLOCK });
    compressed.catch(() => undefined); // awaited in order below
    inFlight.push(compressed);
  };

  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes < BLOCK) return callback();
      dispatch();
      if (inFlight.length < parallel) return callback();
      // As many blocks as allowed are compressing: hand on the oldest before taking more input.
      inFlight.shift()!.then(
        (compressed) => callback(null, compressed),
        (error: Error) => callback(error),
      );
    },
    flush(callback: TransformCallback) {
      if (pendingBytes > 0 || inFlight.length === 0) dispatch();
      Promise.all(inFlight.splice(0)).then(
        (blocks) => {
          for (const block of blocks) this.push(block);
          callback();
        },
        (error: Error) => callback(error),
      );
    },
  });
}
