/** How `audit.bench.ts` and its worker processes (`audit-worker.ts`) talk over IPC. */

/** The environment variable carrying the worker's {@link AuditWorkerOptions} as JSON. */
export const AUDIT_WORKER_ENV = 'BENCH_AUDIT_WORKER';

/** What a worker does: take append and seal orders until disconnected, or measure one stream. */
export type AuditWorkerTask =
  | { kind: 'serve' }
  | {
      kind: 'verify' | 'export';
      chain: string;
      /** Sealed events the chain holds: the run fails unless every one of them streamed past. */
      events: number;
      /** Whose export it is (the export records an `audit_event.export` event for them). */
      actorId: string;
    };

export interface AuditWorkerOptions {
  runtimeUrl: string;
  /** An empty directory for `DATA_DIR` (checkpoint objects would go under it). */
  dataDir: string;
  /** The API processes' `MASTER_KEY`: the audit signing key in the database is wrapped with it. */
  masterKey: string;
  /** The runtime pool's size, as the API's. */
  poolSize: number;
  task: AuditWorkerTask;
}

/** Parent → worker: `callers` concurrent callers of `AuditTrail.record` for `seconds`. */
export interface AppendOrder {
  type: 'append';
  /** Each call records into one of these chains, picked at random. */
  chains: string[];
  callers: number;
  seconds: number;
}

/** Parent → worker: `AuditSealer.seal` every chain in `chains`, one after the other, and time it. */
export interface SealOrder {
  type: 'seal';
  chains: string[];
}

export type WorkerOrder = AppendOrder | SealOrder;

export interface WorkerReady {
  type: 'ready';
}

export interface Appended {
  type: 'appended';
  events: number;
  seconds: number;
  /** Milliseconds from calling `record` until it resolved (the event committed). */
  p50: number;
  p99: number;
  /** The worker's user + system CPU time during the run. */
  cpuMicros: number;
}

export interface Sealed {
  type: 'sealed';
  events: number;
  seconds: number;
  cpuMicros: number;
}

/** What one verify or export run measured. Memory in bytes. */
export interface StreamMeasurement {
  type: 'measured';
  /** Events verified, or lines exported. */
  items: number;
  /** Bytes exported (0 for verify). */
  bytes: number;
  seconds: number;
  /** The process's peak resident set over its whole life (getrusage `ru_maxrss`), start-up included. */
  maxRss: number;
  /** After start-up and two forced full GCs, just before the run. */
  baselineRss: number;
  baselineHeap: number;
  /** The largest `process.memoryUsage()` values sampled every 10 ms during the run. */
  peakRss: number;
  peakHeap: number;
  /**
   * What the heap still held after each full (mark-compact) collection V8 ran on its own during
   * the run (none is forced), in order: the memory the run really keeps. Read when the GC
   * observer is called, so each includes what was allocated since that collection.
   */
  retainedHeaps: number[];
}

export type WorkerMessage = WorkerReady | Appended | Sealed | StreamMeasurement;
