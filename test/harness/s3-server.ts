import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Settings } from '@forecourt/config';

const ROOT = join(__dirname, '..', '..');
const BUCKET = 'forecourt-test';
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

/**
 * What the child runs (`node -e`, so it needs no build, and no file ESLint's type-aware set-up
 * would have to parse): s3rver on an ephemeral port, printing `{"port":n}` as one line once
 * listening, then ending (removing its directory) on SIGTERM or when its stdin closes because
 * this process has gone. Arguments: <directory> <bucket>.
 *
 * s3rver keeps a multipart upload's parts in `<bucket>/._S3rver_uploads/<uploadId>/` (with a `key`
 * file) but answers AbortMultipartUpload with MethodNotAllowed and ListMultipartUploads with
 * NotImplemented. The two stand-ins below fill that gap over the same folder, so the SDK's
 * abort-on-error path really runs and tests can see that nothing was left behind. They run
 * before s3rver's own middleware (Koa composes it only when the server starts listening).
 */
const CHILD_SOURCE = String.raw`
'use strict';
const { rmSync } = require('node:fs');
const { readdir, readFile, rm } = require('node:fs/promises');
const { join } = require('node:path');
const S3rver = require('s3rver');

const [directory, bucket] = process.argv.slice(1);
const uploadsFolder = (name) => join(directory, name, '._S3rver_uploads');
const xml = (text) =>
  String(text).replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]);

async function pendingUploads(name) {
  const ids = await readdir(uploadsFolder(name)).catch((error) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  return Promise.all(
    ids.map(async (id) => ({ id, key: await readFile(join(uploadsFolder(name), id, 'key'), 'utf8') })),
  );
}

async function multipartStandIns(ctx, next) {
  // Path style, /<bucket>/<key>; bucket-level requests may come as /<bucket>/.
  const [name, ...keyParts] = ctx.path.split('/').filter(Boolean);
  const uploadId = ctx.query.uploadId;
  if (ctx.method === 'DELETE' && keyParts.length > 0 && typeof uploadId === 'string') {
    if (!/^[0-9a-f]+$/.test(uploadId)) {
      ctx.status = 404;
      ctx.type = 'application/xml';
      ctx.body = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchUpload</Code></Error>';
      return;
    }
    await rm(join(uploadsFolder(name), uploadId), { recursive: true, force: true });
    ctx.status = 204;
    return;
  }
  if (ctx.method === 'GET' && name && keyParts.length === 0 && 'uploads' in ctx.query) {
    const uploads = await pendingUploads(name);
    ctx.type = 'application/xml';
    ctx.body =
      '<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult>' +
      '<Bucket>' + xml(name) + '</Bucket><IsTruncated>false</IsTruncated>' +
      uploads.map((u) => '<Upload><Key>' + xml(u.key) + '</Key><UploadId>' + u.id + '</UploadId></Upload>').join('') +
      '</ListMultipartUploadsResult>';
    return;
  }
  await next();
}

async function main() {
  const server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  server.middleware.unshift(multipartStandIns);
  const { port } = await server.run();
  process.stdout.write(JSON.stringify({ port }) + '\n');
  const stop = () => {
    rmSync(directory, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
}

main().catch((error) => {
  process.stderr.write(String((error && error.stack) || error) + '\n');
  process.exit(1);
});
`;

/** A running s3rver: an S3-protocol server on 127.0.0.1 keeping its objects under `directory`. */
export interface S3TestServer {
  /** Points at the one bucket, `forecourt-test`, with s3rver's fixed credentials. */
  settings: S3Settings;
  /** s3rver's files: `<bucket>/<key>._S3rver_object`, pending multipart parts in `<bucket>/._S3rver_uploads/`. */
  directory: string;
  /** Stops the server and removes `directory`. */
  stop(): Promise<void>;
}

/**
 * Starts s3rver in a child process run with `--openssl-legacy-provider`, a flag the Jest process
 * itself should not need. Besides `stop()`, the child ends when this process exits, and also (by
 * its stdin closing) when this process is killed.
 */
export async function startS3Server(): Promise<S3TestServer> {
  const directory = await mkdtemp(join(tmpdir(), 'forecourt-s3-'));
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', '-e', CHILD_SOURCE, directory, BUCKET],
    {
      // The root, so that `require('s3rver')` finds the project's node_modules.
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);

  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    process.off('exit', killOnExit);
    await stopChild(child, exited);
    await rm(directory, { recursive: true, force: true });
  };

  let port: number;
  try {
    port = await readyPort(child);
  } catch (error) {
    await stop();
    throw error;
  }
  // Drained so a chatty child never blocks on a full pipe.
  child.stdout.resume();
  child.stderr.resume();
  // A suite that forgets stop() must not keep Jest waiting on the child or its pipes (which are
  // sockets at run time, though typed as plain streams).
  child.unref();
  for (const pipe of [child.stdin, child.stdout, child.stderr]) (pipe as unknown as Socket).unref();

  return {
    settings: {
      endpoint: `http://127.0.0.1:${port}`,
      bucket: BUCKET,
      region: 'us-east-1',
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
    },
    directory,
    stop,
  };
}

/** The port from the child's `{"port":n}` line; rejects on exit or timeout, with its stderr. */
function readyPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const fail = (why: string) => {
      cleanUp();
      reject(new Error(`s3rver ${why}: ${stderr.trim() || '(no stderr)'}`));
    };
    const onStdout = (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const newline = stdout.indexOf('\n');
      if (newline === -1) return;
      const port = portIn(stdout.slice(0, newline));
      if (port === null) return fail(`printed no port (${stdout.slice(0, newline)})`);
      cleanUp();
      resolve(port);
    };
    const onStderr = (chunk: Buffer) => (stderr += chunk.toString('utf8'));
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      fail(`exited before listening (${signal ?? `code ${code}`})`);
    const onError = (error: Error) => fail(`could not start (${error.message})`);
    const timer = setTimeout(() => fail(`did not listen within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    function cleanUp() {
      clearTimeout(timer);
      child.stdout?.off('data', onStdout);
      child.stderr?.off('data', onStderr);
      child.off('exit', onExit);
      child.off('error', onError);
    }
    child.stdout?.on('data', onStdout);
    child.stderr?.on('data', onStderr);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

function portIn(line: string): number | null {
  try {
    const { port } = JSON.parse(line) as { port?: unknown };
    return typeof port === 'number' ? port : null;
  } catch {
    return null;
  }
}

/** SIGTERM, then SIGKILL if the child has not exited within STOP_TIMEOUT_MS. */
async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>(
    (resolve) => (timer = setTimeout(() => resolve(true), STOP_TIMEOUT_MS)),
  );
  try {
    if (await Promise.race([exited.then(() => false), timedOut])) {
      child.kill('SIGKILL');
      await exited;
    }
  } finally {
    clearTimeout(timer);
  }
}
