import { Transform, type TransformCallback } from 'node:stream';
import { promisify } from 'node:util';
import { brotliCompress, brotliDecompress, constants, createGunzip } from 'node:zlib';

const compressBlock = promisify(brotliCompress);
const decompressBlock = promisify(brotliDecompress);

/** Bytes compressed as one block (and the most one block may hold when read back). */
export const BLOCK = 1024 * 1024;
/** Starts a stream of compressed blocks: `FCBR`, then per block `length(4, big-endian) | brotli bytes`. */
const BLOCKS_MAGIC = Buffer.from('FCBR', 'ascii');
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const LENGTH = 4;
/** A compressed block is never much larger than its input; anything beyond this is damage. */
const MAX_COMPRESSED_BLOCK = BLOCK + 64 * 1024;

/** A compressed stream that cannot be read back; the message says where. */
export class CompressedStreamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CompressedStreamError';
  }
}

/**
 * Brotli on more than one core: the input is cut into 1 MiB blocks, each compressed on its own on
 * libuv's thread pool, `parallel` at a time, and written out in order, each prefixed with its
 * length. Brotli at quality 1 compresses COPY text several times faster than gzip at level 1, and
 * tighter (docs/performance.md); brotli streams cannot be concatenated the way gzip members can,
 * hence the lengths. Memory stays bounded at about `parallel` + 1 blocks.
 */
export function compressInBlocks({ quality, parallel }: { quality: number; parallel: number }): Transform {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const inFlight: Promise<Buffer>[] = [];

  const dispatch = (block: Buffer) => {
    const compressed = compressBlock(block, {
      chunkSize: BLOCK,
      params: {
        [constants.BROTLI_PARAM_QUALITY]: quality,
        [constants.BROTLI_PARAM_SIZE_HINT]: block.length,
        [constants.BROTLI_PARAM_LGWIN]: 20,
      },
    }).then((bytes) => {
      const length = Buffer.alloc(LENGTH);
      length.writeUInt32BE(bytes.length);
      return Buffer.concat([length, bytes]);
    });
    compressed.catch(() => undefined); // awaited in order below
    inFlight.push(compressed);
  };

  return new Transform({
    construct(callback) {
      this.push(BLOCKS_MAGIC);
      callback();
    },
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      const takeWholeBlocks = async () => {
        while (pendingBytes >= BLOCK) {
          const joined = Buffer.concat(pending, pendingBytes);
          dispatch(joined.subarray(0, BLOCK));
          const rest = joined.subarray(BLOCK);
          pending = rest.length > 0 ? [rest] : [];
          pendingBytes = rest.length;
          // As many blocks as allowed are compressing: hand on the oldest before taking more input.
          while (inFlight.length >= parallel) this.push(await inFlight.shift()!);
        }
      };
      takeWholeBlocks().then(
        () => callback(),
        (error: Error) => callback(error),
      );
    },
    flush(callback: TransformCallback) {
      if (pendingBytes > 0) dispatch(Buffer.concat(pending, pendingBytes));
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

/**
 * Reads what {@link compressInBlocks} wrote, or a gzip stream (the backups written before it),
 * told apart by their first bytes.
 */
export function decompressing(): Transform {
  let head: Buffer = Buffer.alloc(0);
  let mode: 'unknown' | 'blocks' | 'gzip' = 'unknown';
  let gunzip: Transform | null = null;
  // Compressed bytes not decompressed yet, joined only once a whole block is in.
  let pieces: Buffer[] = [];
  let piecesBytes = 0;

  /** Decompresses every whole block received, in order. */
  const takeBlocks = async (push: (bytes: Buffer) => void) => {
    while (piecesBytes >= LENGTH) {
      if (pieces[0]!.length < LENGTH) pieces = [Buffer.concat(pieces, piecesBytes)];
      const length = pieces[0]!.readUInt32BE(0);
      if (length === 0 || length > MAX_COMPRESSED_BLOCK)
        throw new CompressedStreamError(`a compressed block of ${length} bytes`);
      if (piecesBytes < LENGTH + length) return;
      const joined = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, piecesBytes);
      const rest = joined.subarray(LENGTH + length);
      pieces = rest.length > 0 ? [rest] : [];
      piecesBytes = rest.length;
      push(
        await decompressBlock(joined.subarray(LENGTH, LENGTH + length), { chunkSize: BLOCK }).catch(damaged),
      );
    }
  };

  const startGzip = (stream: Transform) => {
    gunzip = createGunzip();
    gunzip.on('data', (bytes: Buffer) => stream.push(bytes));
    gunzip.on('error', (error) => stream.destroy(error));
  };

  const feed = (stream: Transform, chunk: Buffer, callback: TransformCallback) => {
    if (mode === 'gzip') {
      gunzip!.write(chunk, () => callback());
      return;
    }
    if (chunk.length > 0) {
      pieces.push(chunk);
      piecesBytes += chunk.length;
    }
    takeBlocks((bytes) => stream.push(bytes)).then(
      () => callback(),
      (error: Error) => callback(error),
    );
  };

  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      if (mode !== 'unknown') return feed(this, chunk, callback);
      head = Buffer.concat([head, chunk]);
      if (head.length < BLOCKS_MAGIC.length && head.subarray(0, 2).equals(GZIP_MAGIC) === false)
        return callback();
      if (head.subarray(0, 2).equals(GZIP_MAGIC)) {
        mode = 'gzip';
        startGzip(this);
        return feed(this, head, callback);
      }
      if (!head.subarray(0, BLOCKS_MAGIC.length).equals(BLOCKS_MAGIC))
        return callback(new CompressedStreamError('the stream is neither compressed blocks nor gzip'));
      mode = 'blocks';
      feed(this, head.subarray(BLOCKS_MAGIC.length), callback);
    },
    flush(callback: TransformCallback) {
      if (mode === 'gzip') {
        gunzip!.once('end', () => callback());
        gunzip!.end();
        return;
      }
      if (mode === 'unknown') return callback(new CompressedStreamError('the stream ends before it starts'));
      if (piecesBytes > 0) return callback(new CompressedStreamError('the stream ends inside a block'));
      callback();
    },
  });
}

function damaged(error: Error): never {
  throw new CompressedStreamError(`a compressed block does not decompress (${error.message})`);
}
