import { ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ClientConfig } from 'pg';
import { newId } from '@forecourt/core';
import { withClient } from '@forecourt/database';
import {
  AUDIT_WORKER_ENV,
  AppendOrder,
  Appended,
  AuditWorkerOptions,
  AuditWorkerTask,
  Sealed,
  StreamMeasurement,
  WorkerMessage,
  WorkerOrder,
} from './audit-worker-protocol';
import { insertUnsealedEvents } from './bench-database';
import type { HttpReadBench, HttpTarget } from './http-read.bench';
import { LoadSettings, pick, Sample } from './measure';

/** `GET /v1/tenants/:tenantId/users/:userId` for a random member; connection `i` signs in with `tokens[i]`. */
export function memberReadTarget(
  tenantId: string,
  memberIds: readonly string[],
  tokens: readonly string[],
): HttpTarget {
  return { path: () => `/v1/tenants/${tenantId}/users/${pick(memberIds)}`, bearerTokens: tokens };
}

/** Fails unless the member read answers 200 with the member that was asked for. */
export async function checkMemberRead(
  origin: string,
  tenantId: string,
  memberId: string,
  token: string,
): Promise<void> {
  const response = await fetch(`${origin}/v1/tenants/${tenantId}/users/${memberId}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const body = (await response.json()) as { id?: string };
  if (response.status !== 200 || body.id !== memberId) {
    throw new Error(
      `GET /v1/tenants/:tenantId/users/:userId answered ${response.status} ${JSON.stringify(body)}`,
    );
  }
}

/** How many events the chain holds, and how many of them are sealed (as the superuser). */
export async function countEvents(
  admin: ClientConfig,
  chain: string,
): Promise<{ events: number; sealed: number }> {
  return withClient(admin, async (client) => {
    const { rows } = await client.query<{ events: string; sealed: string }>(
      'select count(*) as events, count(seq) as sealed from audit_events where tenant_id = $1',
      [chain],
    );
    return { events: Number(rows[0]?.events ?? 0), sealed: Number(rows[0]?.sealed ?? 0) };
  });
}

/**
 * Fails unless the bench-only switch does what rows 9–10 rely on: with recording off, a short
 * load adds no event to the chain; with it on, it adds some.
 */
export async function checkAuditSwitch(
  api: HttpReadBench,
  target: HttpTarget,
  admin: ClientConfig,
  chain: string,
  settings: LoadSettings,
): Promise<void> {
  for (const recording of [false, true]) {
    await api.setAuditRecording(recording);
    const before = await countEvents(admin, chain);
    await api.run(target, { ...settings, warmupSeconds: 1, seconds: 1 });
    const added = (await countEvents(admin, chain)).events - before.events;
    if (recording ? added === 0 : added !== 0) {
      throw new Error(`with recording ${recording ? 'on' : 'off'}, the member reads added ${added} events`);
    }
  }
}

type WorkerSettings = Omit<AuditWorkerOptions, 'dataDir' | 'task'>;

function forkWorker(
  settings: WorkerSettings,
  task: AuditWorkerTask,
): { child: ChildProcess; dataDir: string } {
  const dataDir = mkdtempSync(join(tmpdir(), 'forecourt-bench-audit-'));
  const options: AuditWorkerOptions = { ...settings, dataDir, task };
  const child = fork(join(__dirname, 'audit-worker.js'), [], {
    env: { ...process.env, [AUDIT_WORKER_ENV]: JSON.stringify(options) },
    execArgv: ['--enable-source-maps', '--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return { child, dataDir };
}

/** The worker's next message of type `type`; rejects if it exits first. */
function nextMessage<T extends WorkerMessage['type']>(
  child: ChildProcess,
  type: T,
): Promise<Extract<WorkerMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: WorkerMessage) => {
      if (message.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(message as Extract<WorkerMessage, { type: T }>);
    };
    const onExit = (code: number | null) => {
      child.off('message', onMessage);
      reject(new Error(`the audit worker exited (${code}) before answering ${type}`));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** A long-lived worker that appends through `AuditTrail.record` and seals with `AuditSealer`. */
export class AuditWorker {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dataDir: string,
  ) {}

  static async start(settings: WorkerSettings): Promise<AuditWorker> {
    const { child, dataDir } = forkWorker(settings, { kind: 'serve' });
    try {
      await nextMessage(child, 'ready');
      return new AuditWorker(child, dataDir);
    } catch (error) {
      rmSync(dataDir, { recursive: true, force: true });
      throw error;
    }
  }

  async append(order: Omit<AppendOrder, 'type'>): Promise<Appended> {
    return this.order({ type: 'append', ...order }, 'appended');
  }

  async seal(chains: readonly string[]): Promise<Sealed> {
    return this.order({ type: 'seal', chains: [...chains] }, 'sealed');
  }

  async stop(): Promise<void> {
    try {
      if (this.child.exitCode !== null) return;
      const exited = once(this.child, 'exit');
      this.child.disconnect();
      await exited;
    } finally {
      rmSync(this.dataDir, { recursive: true, force: true });
    }
  }

  private order<T extends WorkerMessage['type']>(
    order: WorkerOrder,
    answer: T,
  ): Promise<Extract<WorkerMessage, { type: T }>> {
    const reply = nextMessage(this.child, answer);
    this.child.send(order);
    return reply;
  }
}

/** One verify or export of `chain` in a fresh worker process, which measures its own memory. */
export async function measureStream(
  settings: WorkerSettings,
  task: Extract<AuditWorkerTask, { kind: 'verify' | 'export' }>,
): Promise<StreamMeasurement> {
  const { child, dataDir } = forkWorker(settings, task);
  try {
    const exited = once(child, 'exit');
    const measured = await nextMessage(child, 'measured');
    await exited;
    return measured;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** A run of the append rows as a sample: events/s, `record` latency, worker CPU per event. */
export function appendSample(run: Appended): Sample {
  return {
    opsPerSecond: run.events / run.seconds,
    p50: run.p50,
    p99: run.p99,
    // Nothing left to seal (the group commit sealed every event): no cost per event to show.
    cpuPerOp: run.events > 0 ? run.cpuMicros / run.events : Number.NaN,
  };
}

/** A seal as a sample: events/s and worker CPU per event (no latencies). */
export function sealSample(run: Sealed): Sample {
  return {
    opsPerSecond: run.events / run.seconds,
    p50: Number.NaN,
    p99: Number.NaN,
    // Nothing left to seal (the group commit sealed every event): no cost per event to show.
    cpuPerOp: run.events > 0 ? run.cpuMicros / run.events : Number.NaN,
  };
}

/** What happened to one generated chain. */
export interface LargeChainResult {
  events: number;
  insertSeconds: number;
  seal: Sealed;
  vacuumSeconds: number;
  verify?: StreamMeasurement;
  export?: StreamMeasurement;
}

/**
 * A chain of `events` `user.read` events, inserted unsealed by the superuser with
 * generate_series, then sealed by the worker's `AuditSealer` (timed), then `VACUUM ANALYZE`d so
 * that the verify and export runs that follow meet a settled table rather than autovacuum.
 */
export async function buildLargeChain(
  admin: ClientConfig,
  worker: AuditWorker,
  events: number,
  actorId: string,
  progress: (line: string) => void,
): Promise<{ chain: string; result: LargeChainResult }> {
  const chain = newId();
  progress(`inserting ${events.toLocaleString('en')} unsealed events (generate_series, as the superuser)`);
  let started = performance.now();
  await insertUnsealedEvents(admin, chain, events, actorId);
  const insertSeconds = (performance.now() - started) / 1000;
  progress(`  inserted in ${insertSeconds.toFixed(1)} s; sealing them with AuditSealer`);
  const seal = await worker.seal([chain]);
  if (seal.events !== events) throw new Error(`sealed ${seal.events} of ${events} events`);
  progress(
    `  sealed in ${seal.seconds.toFixed(1)} s (${(seal.events / seal.seconds).toFixed(0)} events/s); VACUUM ANALYZE`,
  );
  started = performance.now();
  await withClient(admin, (client) => client.query('vacuum analyze audit_events'));
  const vacuumSeconds = (performance.now() - started) / 1000;
  return { chain, result: { events, insertSeconds, seal, vacuumSeconds } };
}
