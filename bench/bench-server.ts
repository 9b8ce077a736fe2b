/**
 * The API under load, in its own process so that the load generator does not share its event
 * loop. Started by `http-read.bench.ts` with its settings in BENCH_SERVER; creates the platform
 * owners the sign-in row signs in as and issues the sessions the audited read uses, reports its
 * port, those owners and sessions (and, when asked, its CPU time) to the parent over IPC, switches
 * audit recording off and on when told to (bench only, see below) and stops when the parent
 * disconnects.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { AddressInfo } from 'node:net';
import { AuditTrail } from '@forecourt/audit';
import { PlatformOwners, Sessions } from '@forecourt/auth';
import { loadConfig } from '@forecourt/config';
import { createApp } from '../apps/api/src/create-app';
import { BenchReadModule } from './bench-read.module';
import {
  BENCH_SERVER_ENV,
  BenchOwner,
  BenchServerOptions,
  ParentMessage,
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
  const sessions = app.get(Sessions);
  const tokens: string[] = [];
  for (const userId of options.sessionsFor ?? []) tokens.push((await sessions.issue(userId)).token);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.getHttpServer().address() as AddressInfo;
  const send = (message: ServerMessage) => process.send?.(message);
  const trail = app.get(AuditTrail);
  process.on('message', (message: ParentMessage) => {
    switch (message.type) {
      case 'cpu':
        send({ type: 'cpu', usage: process.cpuUsage() });
        break;
      case 'audit':
        switchAuditRecording(trail, message.recording);
        send({ type: 'audit', recording: message.recording });
        break;
    }
  });
  process.once('disconnect', () => {
    void app.close().then(() => process.exit(0));
  });
  send({ type: 'ready', port, owners, tokens });
}

/**
 * BENCH ONLY — the "auditing off" baseline of the audited-read rows. The app has no switch to
 * stop auditing, and must not get one; this process alone shadows the `record` method of its one
 * `AuditTrail` instance (which every service holds) with a no-op that resolves at once, so the
 * same route runs exactly as shipped minus the event and its group commit. `true` removes the
 * shadow again: the prototype's method, as shipped, answers once more.
 */
function switchAuditRecording(trail: AuditTrail, recording: boolean): void {
  if (recording) {
    Reflect.deleteProperty(trail, 'record');
  } else {
    Object.defineProperty(trail, 'record', {
      value: (): Promise<void> => Promise.resolve(),
      configurable: true,
      writable: true,
    });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench server did not start: ${(error as Error).stack}\n`);
  process.exit(1);
});
