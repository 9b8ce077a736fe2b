import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, runningServer } from '@forecourt/database';

const ROOT = join(__dirname, '..', '..');
/** What `npm start` runs once its `prestart` build is done. */
export const API_ENTRY = join(ROOT, 'dist', 'apps', 'api', 'src', 'main.js');

/** A running `node dist/apps/api/src/main.js` with its output captured. */
export class ApiProcess {
  private output = '';
  private errors = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (this.errors += chunk.toString('utf8')));
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /**
   * Starts the compiled API; with `viaNpm`, literally `npm start` (which execs node, so signals
   * sent to npm reach the API), without its `prestart` build: the global set-up has built `dist`
   * with that same command, and building again here rewrote `dist` in place while other test
   * files were starting processes from it, which then loaded half-written modules (seen as a
   * CircularDependencyException in a process that exited before it was ready).
   */
  static async start(env: Record<string, string>, options: { viaNpm?: boolean } = {}): Promise<ApiProcess> {
    const port = env.PORT ? Number(env.PORT) : await freePort();
    const [command, args] = options.viaNpm
      ? ['npm', ['start', '--silent', '--ignore-scripts']]
      : [process.execPath, [API_ENTRY]];
    const child = spawn(command, args, {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        LOG_LEVEL: 'info',
        PORT: String(port),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new ApiProcess(child, port);
  }

  get stdout(): string {
    return this.output;
  }

  get stderr(): string {
    return this.errors;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Resolves with the status of /health/ready once it answers 200; rejects if the process exits first. */
  async waitUntilReady(timeoutMs = 60_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => (exited = true));
    while (Date.now() < deadline) {
      if (exited) throw new Error(`the API exited before it was ready: ${this.errors || this.output}`);
      try {
        // Bounded: a probe that hangs must not outlive the deadline (and hide the output below).
        const response = await fetch(this.url('/health/ready'), { signal: AbortSignal.timeout(2_000) });
        if (response.status === 200) return response.status;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`the API was not ready within ${timeoutMs} ms: ${this.errors || this.output}`);
  }

  /** Sends `signal` and resolves with the exit and how long it took. */
  async stop(
    signal: NodeJS.Signals = 'SIGTERM',
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
    const started = Date.now();
    this.child.kill(signal);
    const exit = await this.exited;
    return { ...exit, ms: Date.now() - started };
  }
}

/** How the runtime role of an embedded DATA_DIR connects (for checks from outside the API). */
export function embeddedRuntimeUrl(dataDir: string): string {
  const port = readFileSync(join(dataDir, 'pg', 'postmaster.pid'), 'utf8')
    .split('\n')[3]!
    .trim();
  const roles = JSON.parse(readFileSync(join(dataDir, 'pg-roles.secret'), 'utf8')) as {
    runtimePassword: string;
  };
  return `postgres://forecourt_app:${roles.runtimePassword}@127.0.0.1:${port}/forecourt`;
}

/** The postmaster pid of an embedded DATA_DIR, when its server is running. */
export function embeddedServerPid(dataDir: string): number | null {
  return runningServer(join(dataDir, 'pg'))?.pid ?? null;
}
