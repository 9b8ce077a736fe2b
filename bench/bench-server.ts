/**
 * The API under load, in its own process so that the load generator does not share its event
 * loop. Started by `http-read.bench.ts` with its settings in BENCH_SERVER; reports its port (and,
 * when asked, its CPU time) to the parent over IPC and stops when the parent disconnects.
 */
import 'reflect-metadata';
import { AddressInfo } from 'node:net';
import { loadConfig } from '@forecourt/config';
import { createApp } from '../apps/api/src/create-app';
import { BenchReadModule, type BenchReadOptions } from './bench-read.module';
import { BENCH_SERVER_ENV, CpuRequest, ServerMessage } from './bench-server-protocol';

async function main(): Promise<void> {
  const options = JSON.parse(process.env[BENCH_SERVER_ENV] ?? '{}') as BenchReadOptions;
  const app = await createApp({
    config: loadConfig({ LOG_LEVEL: 'silent' }),
    runtimeDatabaseUrl: options.runtimeUrl,
    poolSize: options.poolSize,
    extraImports: [BenchReadModule.forRoot(options)],
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.getHttpServer().address() as AddressInfo;
  const send = (message: ServerMessage) => process.send?.(message);
  process.on('message', (message: CpuRequest) => {
    if (message.type === 'cpu') send({ type: 'cpu', usage: process.cpuUsage() });
  });
  process.once('disconnect', () => {
    void app.close().then(() => process.exit(0));
  });
  send({ type: 'ready', port });
}

main().catch((error: unknown) => {
  process.stderr.write(`bench server did not start: ${(error as Error).stack}\n`);
  process.exit(1);
});
