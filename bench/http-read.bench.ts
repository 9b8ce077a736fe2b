import autocannon from 'autocannon';
import { ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import type { BenchReadOptions } from './bench-read.module';
import { BENCH_SERVER_ENV, CpuRequest, ServerMessage } from './bench-server-protocol';
import { LoadSettings, pick, quantile, Sample } from './measure';

/** The bench routes of `bench-read.module.ts`. */
export type ReadRoute = 'raw' | 'tenant-statement' | 'tenant-run';

/**
 * The real API (createApp: Fastify, Helmet, request context, validation, logging, metrics) with
 * the bench routes mounted, running in a child process, loaded by autocannon over keep-alive
 * connections to 127.0.0.1.
 */
export class HttpReadBench {
  private constructor(
    private readonly server: ChildProcess,
    private readonly origin: string,
    private readonly ids: readonly string[],
  ) {}

  static async start(options: BenchReadOptions, ids: readonly string[]): Promise<HttpReadBench> {
    const server = fork(join(__dirname, 'bench-server.js'), [], {
      env: { ...process.env, [BENCH_SERVER_ENV]: JSON.stringify(options) },
      execArgv: ['--enable-source-maps'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const port = await new Promise<number>((resolve, reject) => {
      server.once('message', (message: ServerMessage) => {
        if (message.type === 'ready') resolve(message.port);
      });
      server.once('exit', (code) => reject(new Error(`bench server exited (${code}) before it was ready`)));
    });
    return new HttpReadBench(server, `http://127.0.0.1:${port}`, ids);
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

  async run(route: ReadRoute, settings: LoadSettings): Promise<Sample> {
    await this.load(route, settings.connections, settings.warmupSeconds);
    const before = await this.serverCpu();
    const { completed, ...sample } = await this.load(route, settings.connections, settings.seconds);
    const after = await this.serverCpu();
    const micros = after.user - before.user + (after.system - before.system);
    return { ...sample, cpuPerOp: micros / completed };
  }

  async stop(): Promise<void> {
    if (this.server.exitCode !== null) return;
    const exited = once(this.server, 'exit');
    this.server.disconnect();
    await exited;
  }

  private async serverCpu(): Promise<NodeJS.CpuUsage> {
    const reply = new Promise<NodeJS.CpuUsage>((resolve) => {
      const listen = (message: ServerMessage) => {
        if (message.type !== 'cpu') return;
        this.server.off('message', listen);
        resolve(message.usage);
      };
      this.server.on('message', listen);
    });
    this.server.send({ type: 'cpu' } satisfies CpuRequest);
    return reply;
  }

  private async load(
    route: ReadRoute,
    connections: number,
    seconds: number,
  ): Promise<Sample & { completed: number }> {
    // autocannon's own histogram rounds to whole milliseconds; the response events do not.
    const latencies: number[] = [];
    const result = await new Promise<autocannon.Result>((resolve, reject) => {
      const instance = autocannon(
        {
          url: this.origin,
          connections,
          duration: seconds,
          requests: [
            {
              method: 'GET',
              setupRequest: (request) => ({ ...request, path: `/bench/${route}/${pick(this.ids)}` }),
            },
          ],
        },
        (error: Error | null, done) => (error ? reject(error) : resolve(done)),
      );
      instance.on('response', (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
    });
    const failed = result.errors + result.timeouts + result.non2xx;
    if (failed > 0) throw new Error(`/bench/${route}: ${failed} failed requests (${result.non2xx} non-2xx)`);
    latencies.sort((a, b) => a - b);
    return {
      completed: result['2xx'],
      opsPerSecond: result['2xx'] / result.duration,
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
    };
  }
}
