import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export const MiB = 2 ** 20;

/** Writes `size` bytes: `head`, then random bytes (1 MiB at a time, never all in memory). */
export async function writeRandomFile(path: string, size: number, head = Buffer.alloc(0)): Promise<string> {
  const hash = createHash('sha256');
  function* chunks() {
    let left = size;
    const first = head.subarray(0, size);
    hash.update(first);
    left -= first.length;
    yield first;
    while (left > 0) {
      const chunk = randomBytes(Math.min(MiB, left));
      hash.update(chunk);
      left -= chunk.length;
      yield chunk;
    }
  }
  await pipeline(chunks(), createWriteStream(path));
  return hash.digest('hex');
}

/** A sink that keeps nothing. */
export function nullSink(): Writable {
  return new Writable({
    write(_chunk: Buffer, _encoding, done) {
      done();
    },
  });
}

/** A sink that hashes what it receives; `digest()` once the pipeline has finished. */
export function hashingSink(): Writable & { digest(): string; bytes(): number } {
  const hash = createHash('sha256');
  let bytes = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done();
    },
  });
  return Object.assign(sink, { digest: () => hash.digest('hex'), bytes: () => bytes });
}

/** Seconds `work` takes. */
export async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return (performance.now() - started) / 1000;
}

/**
 * The growth of this process's resident set while `work` runs: the largest `rss` sampled every
 * 10 ms (and once at the end) minus its value just before, in bytes.
 */
export async function withPeakRss<T>(work: () => Promise<T>): Promise<{ result: T; growth: number }> {
  const before = process.memoryUsage.rss();
  let peak = before;
  const sample = () => {
    peak = Math.max(peak, process.memoryUsage.rss());
  };
  const timer = setInterval(sample, 10);
  try {
    const result = await work();
    sample();
    return { result, growth: peak - before };
  } finally {
    clearInterval(timer);
  }
}

export interface Upload {
  status: number;
  body: string;
}

/**
 * POSTs `file` as the one part (field `file`) of a multipart/form-data body, streamed from disk
 * with a Content-Length, as a browser would send it; resolves with the response once it has ended.
 */
export async function uploadMultipart(
  url: string,
  headers: Record<string, string>,
  file: string,
  fileName: string,
  contentType: string,
): Promise<Upload> {
  const { size } = await stat(file);
  const boundary = `----forecourt${randomBytes(8).toString('hex')}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${fileName}"\r\n` +
      `Content-Type: ${contentType}\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return new Promise<Upload>((resolve, reject) => {
    const outgoing = request(url, {
      method: 'POST',
      headers: {
        ...headers,
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': String(head.length + size + tail.length),
      },
    });
    outgoing.once('error', reject);
    outgoing.once('response', (response: IncomingMessage) => {
      const parts: Buffer[] = [];
      response.on('data', (chunk: Buffer) => parts.push(chunk));
      response.once('error', reject);
      response.once('end', () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') }),
      );
    });
    outgoing.write(head);
    const body = createReadStream(file);
    body.once('error', reject);
    body.once('end', () => outgoing.end(tail));
    body.pipe(outgoing, { end: false });
  });
}

/** GETs `url` and streams the body into `sink`; resolves with the status once the sink has finished. */
export async function download(
  url: string,
  headers: Record<string, string>,
  sink: Writable,
): Promise<number> {
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const outgoing = request(url, { method: 'GET', headers });
    outgoing.once('error', reject);
    outgoing.once('response', resolve);
    outgoing.end();
  });
  await pipeline(response, sink);
  return response.statusCode ?? 0;
}

/**
 * The plain HTTP baseline, in the same process: `POST /upload` writes the raw request body to
 * `uploadTo` (no multipart parsing, no hashing, no encryption); `GET /download` streams
 * `downloadFrom` with its Content-Length.
 */
export async function startPlainServer(
  uploadTo: string,
  downloadFrom: () => string,
): Promise<{ origin: string; close(): Promise<void> }> {
  const server: Server = createServer((incoming, outgoing) => {
    const fail = (error: unknown) => {
      outgoing.statusCode = 500;
      outgoing.end(String(error));
    };
    if (incoming.method === 'POST' && incoming.url === '/upload') {
      pipeline(incoming, createWriteStream(uploadTo)).then(() => {
        outgoing.setHeader('content-type', 'application/json');
        outgoing.end('{}');
      }, fail);
      return;
    }
    if (incoming.method === 'GET' && incoming.url === '/download') {
      const file = downloadFrom();
      stat(file).then(({ size }) => {
        outgoing.setHeader('content-length', String(size));
        outgoing.setHeader('content-type', 'application/pdf');
        return pipeline(createReadStream(file), outgoing);
      }, fail);
      return;
    }
    outgoing.statusCode = 404;
    outgoing.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(uploadTo, { force: true });
    },
  };
}
