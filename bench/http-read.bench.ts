import autocannon from 'autocannon';
import { ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BENCH_SERVER_ENV,
  BenchOwner,
  BenchServerOptions,
  ParentMessage,
  ServerMessage,
} from './bench-server-protocol';
import { LoadSettings, pick, quantile, Sample } from './measure';

/** The bench routes of `bench-read.module.ts`. */
export type ReadRoute = 'raw' | 'tenant-statement' | 'tenant-run';

/** What one HTTP load row sends: always a GET. */
export interface HttpTarget {
  /** A fixed path, or a function giving each request its own. */
  path: string | (() => string);
  /** When set, connection `i` sends `Authorization: Bearer <bearerTokens[i % length]>` throughout. */
  bearerTokens?: readonly string[];
}

/**
 * The real API (createApp: Fastify, Helmet, request context, validation, logging, metrics) with
 * the bench routes mounted, running in a child process, loaded by autocannon over keep-alive
 * connections to 127.0.0.1.
 */
export class HttpReadBench {
  private constructor(
    private readonly server: ChildProcess,
    private readonly dataDir: string,
    /** `http://127.0.0.1:<port>`. */
    readonly origin: string,
    /** The platform owners the server created (MFA not enrolled yet). */
    readonly owners: readonly BenchOwner[],
    /** Bearer tokens of the sessions issued for `sessionsFor`, in that order. */
    readonly tokens: readonly string[],
    private readonly ids: readonly string[],
  ) {}

  /** Starts the API process: this build's `bench-server.js`, or `serverScript` (another build's). */
  static async start(
    options: Omit<BenchServerOptions, 'dataDir'>,
    ids: readonly string[],
    serverScript = join(__dirname, 'bench-server.js'),
  ): Promise<HttpReadBench> {
    const dataDir = mkdtempSync(join(tmpdir(), 'forecourt-bench-api-'));
    const serverOptions: BenchServerOptions = { ...options, dataDir };
    const server = fork(serverScript, [], {
      env: { ...process.env, [BENCH_SERVER_ENV]: JSON.stringify(serverOptions) },
      execArgv: ['--enable-source-maps'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    try {
      const ready = await new Promise<{ port: number; owners: BenchOwner[]; tokens: string[] }>(
        (resolve, reject) => {
          server.once('message', (message: ServerMessage) => {
            if (message.type === 'ready') resolve(message);
          });
          server.once('exit', (code) =>
            reject(new Error(`bench server exited (${code}) before it was ready`)),
          );
        },
      );
      return new HttpReadBench(
        server,
        dataDir,
        `http://127.0.0.1:${ready.port}`,
        ready.owners,
        ready.tokens,
        ids,
      );
    } catch (error) {
      rmSync(dataDir, { recursive: true, force: true });
      throw error;
    }
  }

  /** A random store by primary key through one of the bench routes. */
  readTarget(route: ReadRoute): HttpTarget {
    return { path: () => `/bench/${route}/${pick(this.ids)}` };
  }

  /** Fails unless every route answers 200 with the row that was asked for. */
  async check(routes: readonly ReadRoute[]): Promise<void> {
    const id = pick(this.ids);
    for (const route of routes) {
      const response = await fetch(`${this.origin}/bench/${route}/${id}`);
      const body = (await response.json()) as { id?: string };
      if (response.status !== 200 || body.id !== id) {
        throw new Error(`GET /bench/${route}/:id answered ${response.status} ${JSON.stringify(body)}`);
      }
    }
  }

  async run(target: HttpTarget, settings: LoadSettings): Promise<Sample> {
    await this.load(target, settings.connections, settings.warmupSeconds);
    const { result, cpuMicros } = await this.measureCpu(() =>
      this.load(target, settings.connections, settings.seconds),
    );
    const { completed, ...sample } = result;
    return { ...sample, cpuPerOp: cpuMicros / completed };
  }

  /**
   * BENCH ONLY: makes the server's `AuditTrail.record` a no-op (`false`) or the shipped method
   * again (`true`); resolves once the server has switched. See `bench-server.ts`.
   */
  async setAuditRecording(recording: boolean): Promise<void> {
    await this.ask({ type: 'audit', recording }, 'audit');
  }

  /** Runs `work` and returns the server process's user + system CPU time during it. */
  async measureCpu<T>(work: () => Promise<T>): Promise<{ result: T; cpuMicros: number }> {
    const before = await this.serverCpu();
    const result = await work();
    const after = await this.serverCpu();
    return { result, cpuMicros: after.user - before.user + (after.system - before.system) };
  }

  async stop(): Promise<void> {
    try {
      if (this.server.exitCode !== null) return;
      const exited = once(this.server, 'exit');
      this.server.disconnect();
      await exited;
    } finally {
      rmSync(this.dataDir, { recursive: true, force: true });
    }
  }

  private async serverCpu(): Promise<NodeJS.CpuUsage> {
    const reply = await this.ask({ type: 'cpu' }, 'cpu');
    return reply.usage;
  }

  /** Sends `message` and resolves with the server's first answer of type `type`. */
  private ask<T extends ServerMessage['type']>(
    message: ParentMessage,
    type: T,
  ): Promise<Extract<ServerMessage, { type: T }>> {
    const reply = new Promise<Extract<ServerMessage, { type: T }>>((resolve) => {
      const listen = (answer: ServerMessage) => {
        if (answer.type !== type) return;
        this.server.off('message', listen);
        resolve(answer as Extract<ServerMessage, { type: T }>);
      };
      this.server.on('message', listen);
    });
    this.server.send(message);
    return reply;
  }

  private async load(
    target: HttpTarget,
    connections: number,
    seconds: number,
  ): Promise<Sample & { completed: number }> {
    const { path, bearerTokens: tokens } = target;
    const name = typeof path === 'string' ? path : path().replace(/[^/]+$/, ':id');
    // autocannon's own histogram rounds to whole milliseconds; the response events do not.
    const latencies: number[] = [];
    let connection = 0;
    const result = await new Promise<autocannon.Result>((resolve, reject) => {
      const instance = autocannon(
        {
          url: typeof path === 'string' ? `${this.origin}${path}` : this.origin,
          connections,
          duration: seconds,
          ...(typeof path === 'string'
            ? {}
            : { requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: path() }) }] }),
          ...(tokens?.length
            ? {
                setupClient: (client) =>
                  client.setHeaders({ authorization: `Bearer ${tokens[connection++ % tokens.length]}` }),
              }
            : {}),
        },
        (error: Error | null, done) => (error ? reject(error) : resolve(done)),
      );
      instance.on('response', (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
    });
    const failed = result.errors + result.timeouts + result.non2xx;
    if (failed > 0) throw new Error(`GET ${name}: ${failed} failed requests (${result.non2xx} non-2xx)`);
    latencies.sort((a, b) => a - b);
    return {
      completed: result['2xx'],
      opsPerSecond: result['2xx'] / result.duration,
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
    };
  }
}
