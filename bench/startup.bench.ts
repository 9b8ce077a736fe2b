import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { freePort } from '@forecourt/database';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { median } from './measure';

/** What `npm start` runs once its build (prestart) is done. */
const API_MAIN = resolve(__dirname, '..', 'apps', 'api', 'src', 'main.js');
const READY_TIMEOUT_MS = 60_000;
const POLL_INTERVAL_MS = 20;

export interface StartupResult {
  /** Median milliseconds from spawn to the first `/health/ready` 200. */
  freshMs: number;
  existingMs: number;
  freshRuns: number;
  existingRuns: number;
}

async function isReady(url: string): Promise<boolean> {
  try {
    const response = await fetch(url);
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false;
  }
}

/** Starts the API on `dataDir`, returns the milliseconds until it was ready, then stops it. */
async function timeStartup(dataDir: string): Promise<number> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1' };
  delete env.DATABASE_URL;
  delete env.MIGRATION_DATABASE_URL;
  const started = performance.now();
  const api: ChildProcess = spawn(process.execPath, ['--enable-source-maps', API_MAIN], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  api.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = once(api, 'exit');
  try {
    const url = `http://127.0.0.1:${port}/health/ready`;
    while (!(await isReady(url))) {
      if (api.exitCode !== null) {
        throw new Error(`the API exited (${api.exitCode}) before ready: ${stderr.trim()}`);
      }
      if (performance.now() - started > READY_TIMEOUT_MS) {
        throw new Error('the API was not ready within 60 s');
      }
      await new Promise((done) => setTimeout(done, POLL_INTERVAL_MS));
    }
    return performance.now() - started;
  } finally {
    api.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    if (code !== 0) {
      process.stderr.write(`warning: the API exited ${String(code)} after SIGTERM: ${stderr.trim()}\n`);
    }
  }
}

function newDataDir(): string {
  const directory = mkdtempSync(join(tmpdir(), 'forecourt-bench-start-'));
  chmodSync(directory, 0o755); // the embedded server may run as the postgres OS user
  return directory;
}

/**
 * `node dist/apps/api/src/main.js` from spawn to `/health/ready` 200: on a fresh DATA_DIR (initdb,
 * roles, migrations) and on one a previous run left behind (start, check, no migration).
 */
export async function benchStartup(freshRuns: number, existingRuns: number): Promise<StartupResult> {
  if (freshRuns < 1) throw new Error('at least one fresh run is needed (it leaves the existing DATA_DIR)');
  const directories = Array.from({ length: freshRuns }, newDataDir);
  try {
    const fresh: number[] = [];
    for (const directory of directories) fresh.push(await timeStartup(directory));
    const existing: number[] = [];
    for (let run = 0; run < existingRuns; run++) existing.push(await timeStartup(directories[0]!));
    return { freshMs: median(fresh), existingMs: median(existing), freshRuns, existingRuns };
  } finally {
    for (const directory of directories) rmSync(directory, { recursive: true, force: true });
  }
}
