/**
 * The API under load, in its own process so that the load generator does not share its event
 * loop. Started by `http-read.bench.ts` with its settings in BENCH_SERVER; creates the platform
 * owners the sign-in row signs in as, reports its port and those owners (and, when asked, its CPU
 * time) to the parent over IPC and stops when the parent disconnects.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { AddressInfo } from 'node:net';
import { PlatformOwners } from '@forecourt/auth';
import { loadConfig } from '@forecourt/config';
import { createApp } from '../apps/api/src/create-app';
import { BenchReadModule } from './bench-read.module';
import {
  BENCH_SERVER_ENV,
  BenchOwner,
  BenchServerOptions,
  CpuRequest,
  ServerMessage,
} from './bench-server-protocol';

/** High enough that the sign-in row (every attempt from 127.0.0.1) is never throttled. */
const NO_LIMIT = '1000000';

async function main(): Promise<void> {
  const options = JSON.parse(process.env[BENCH_SERVER_ENV] ?? '{}') as BenchServerOptions;
  const app = await createApp({
    config: loadConfig({
      LOG_LEVEL: 'silent',
      DATA_DIR: options.dataDir, // mail would go to DATA_DIR/mail
      MASTER_KEY: options.masterKey,
      AUTH_FAILED_LIMIT: NO_LIMIT,
      AUTH_ATTEMPT_CEILING: NO_LIMIT,
    }),
    runtimeDatabaseUrl: options.runtimeUrl,
    poolSize: options.poolSize,
    extraImports: [BenchReadModule.forRoot(options)],
  });
  const owners: BenchOwner[] = [];
  const platformOwners = app.get(PlatformOwners);
  for (let index = 1; index <= options.owners; index++) {
    const owner = { email: `owner${index}@bench.example`, password: randomBytes(12).toString('base64url') };
    await platformOwners.create(owner.email, `Bench owner ${index}`, owner.password);
    owners.push(owner);
  }
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.getHttpServer().address() as AddressInfo;
  const send = (message: ServerMessage) => process.send?.(message);
  process.on('message', (message: CpuRequest) => {
    if (message.type === 'cpu') send({ type: 'cpu', usage: process.cpuUsage() });
  });
  process.once('disconnect', () => {
    void app.close().then(() => process.exit(0));
  });
  send({ type: 'ready', port, owners });
}

main().catch((error: unknown) => {
  process.stderr.write(`bench server did not start: ${(error as Error).stack}\n`);
  process.exit(1);
});
