/**
 * The audit trail's own services (AuditTrail, AuditSealer, AuditLog) in a process of their own,
 * on the runtime role's pool as the API uses them, without HTTP. Started by `audit.bench.ts` with
 * its settings in BENCH_AUDIT_WORKER. As `serve`, it runs append and seal orders from the parent
 * until the parent disconnects; as `verify` or `export`, it streams one chain once, measuring its
 * own memory, reports and exits — a fresh process per measurement, so one run's heap never shows
 * in another's figures.
 */
import 'reflect-metadata';
import { DynamicModule, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { constants, performance, PerformanceObserver } from 'node:perf_hooks';
import { ClsModule } from 'nestjs-cls';
import { AuditLog, AuditModule, AuditSealer, AuditTrail } from '@forecourt/audit';
import { AppConfig, ConfigModule, loadConfig } from '@forecourt/config';
import { newId, type RequestContext } from '@forecourt/core';
import { CryptoModule } from '@forecourt/crypto';
import { DatabaseModule } from '@forecourt/database';
import { TENANT_ENTITIES } from '@forecourt/tenants';
import { MIGRATIONS } from '../migrations';
import {
  AUDIT_WORKER_ENV,
  AppendOrder,
  Appended,
  AuditWorkerOptions,
  AuditWorkerTask,
  Sealed,
  SealOrder,
  StreamMeasurement,
  WorkerMessage,
  WorkerOrder,
} from './audit-worker-protocol';
import { pick, quantile } from './measure';

/** What the API composes for the trail (see `AppModule`), minus HTTP, auth and the scheduled jobs. */
@Module({})
class AuditWorkerModule {
  static forRoot(config: AppConfig, runtimeUrl: string, poolSize: number): DynamicModule {
    return {
      module: AuditWorkerModule,
      imports: [
        ConfigModule.forRoot(config),
        ClsModule.forRoot({ global: true }),
        DatabaseModule.forRoot({
          url: runtimeUrl,
          entities: TENANT_ENTITIES,
          migrations: MIGRATIONS,
          poolSize,
        }),
        CryptoModule,
        // No jobs: the sealer runs only when the parent orders it, so that appending and sealing
        // are measured apart.
        AuditModule.forRoot({ jobs: false }),
      ],
    };
  }
}

const USER_AGENT =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36';

/** A signed-in dealer_admin's request in `tenantId`, as the access guard leaves it. */
function requestContext(tenantId: string, userId: string, sessionId: string): RequestContext {
  return {
    requestId: newId(),
    ip: '127.0.0.1',
    userAgent: USER_AGENT,
    principal: { userId, sessionId, platformRole: null },
    tenant: { tenantId, role: 'dealer_admin', stores: 'all' },
  };
}

/** `callers` callers, each recording one `user.read` event after the other, as a member read does. */
async function append(trail: AuditTrail, order: AppendOrder): Promise<Appended> {
  const latencies: number[] = [];
  const cpu = process.cpuUsage();
  const started = performance.now();
  const deadline = started + order.seconds * 1000;
  await Promise.all(
    Array.from({ length: order.callers }, async () => {
      const userId = newId();
      const sessionId = newId();
      while (performance.now() < deadline) {
        const chain = pick(order.chains);
        const sent = performance.now();
        await trail.record(requestContext(chain, userId, sessionId), chain, {
          action: 'user.read',
          subjectType: 'User',
          subjectId: randomUUID(),
        });
        latencies.push(performance.now() - sent);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  latencies.sort((a, b) => a - b);
  return {
    type: 'appended',
    events: latencies.length,
    seconds,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    cpuMicros: used.user + used.system,
  };
}

async function seal(sealer: AuditSealer, order: SealOrder): Promise<Sealed> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  let events = 0;
  for (const chain of order.chains) events += await sealer.seal(chain, { wait: true });
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return { type: 'sealed', events, seconds, cpuMicros: used.user + used.system };
}

/**
 * Verifies or exports the chain once while sampling this process's memory every 10 ms, after a
 * baseline taken with the app started and two forced full collections behind it, and noting the
 * heap left after each full collection V8 runs on its own meanwhile.
 */
async function measureStream(
  log: AuditLog,
  task: Extract<AuditWorkerTask, { kind: 'verify' | 'export' }>,
): Promise<StreamMeasurement> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('the worker needs --expose-gc');
  gc();
  gc();
  const baseline = process.memoryUsage();
  let peakRss = baseline.rss;
  let peakHeap = baseline.heapUsed;
  const sample = () => {
    const now = process.memoryUsage();
    peakRss = Math.max(peakRss, now.rss);
    peakHeap = Math.max(peakHeap, now.heapUsed);
  };
  const sampler = setInterval(sample, 10);
  const retainedHeaps: number[] = [];
  const collections = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const { detail } = entry as { detail?: { kind?: number } };
      if (detail?.kind !== constants.NODE_PERFORMANCE_GC_MAJOR) continue;
      retainedHeaps.push(process.memoryUsage().heapUsed);
    }
  });
  collections.observe({ entryTypes: ['gc'] });
  const started = performance.now();
  let items = 0;
  let bytes = 0;
  try {
    if (task.kind === 'verify') {
      const report = await log.verify(task.chain);
      if (!report.ok || report.verifiedThroughSeq < task.events) {
        throw new Error(`verify: ${JSON.stringify(report)}`);
      }
      items = report.verifiedThroughSeq;
    } else {
      const ctx = requestContext(task.chain, task.actorId, newId());
      for await (const line of await log.export(ctx, task.chain, 'jsonl')) {
        items += 1;
        bytes += Buffer.byteLength(line);
      }
      // The header, then one line per event (no checkpoint is signed during the bench).
      if (items < task.events + 1) throw new Error(`export: ${items} lines for ${task.events} events`);
    }
  } finally {
    clearInterval(sampler);
    collections.disconnect();
  }
  const seconds = (performance.now() - started) / 1000;
  sample();
  return {
    type: 'measured',
    items,
    bytes,
    seconds,
    maxRss: process.resourceUsage().maxRSS * 1024,
    baselineRss: baseline.rss,
    baselineHeap: baseline.heapUsed,
    peakRss,
    peakHeap,
    retainedHeaps,
  };
}

async function main(): Promise<void> {
  const options = JSON.parse(process.env[AUDIT_WORKER_ENV] ?? '{}') as AuditWorkerOptions;
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    DATA_DIR: options.dataDir,
    MASTER_KEY: options.masterKey,
  });
  const app = await NestFactory.createApplicationContext(
    AuditWorkerModule.forRoot(config, options.runtimeUrl, options.poolSize),
    { logger: false },
  );
  const send = (message: WorkerMessage) =>
    new Promise<void>((resolve, reject) =>
      process.send?.(message, undefined, undefined, (error) => (error ? reject(error) : resolve())),
    );
  const { task } = options;
  if (task.kind !== 'serve') {
    const measured = await measureStream(app.get(AuditLog), task);
    await app.close();
    await send(measured);
    process.disconnect();
    return;
  }
  const trail = app.get(AuditTrail);
  const sealer = app.get(AuditSealer);
  process.on('message', (order: WorkerOrder) => {
    const work = order.type === 'append' ? append(trail, order) : seal(sealer, order);
    work.then(send).catch((error: unknown) => {
      process.stderr.write(`audit worker: ${(error as Error).stack}\n`);
      process.exit(1);
    });
  });
  process.once('disconnect', () => {
    void app.close().then(() => process.exit(0));
  });
  await send({ type: 'ready' });
}

main().catch((error: unknown) => {
  process.stderr.write(`audit worker failed: ${(error as Error).stack}\n`);
  process.exit(1);
});
