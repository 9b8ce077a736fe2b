/** How `http-read.bench.ts` and its server process (`bench-server.ts`) talk over IPC. */
import type { BenchReadOptions } from './bench-read.module';

/** The environment variable carrying the server's {@link BenchServerOptions} as JSON. */
export const BENCH_SERVER_ENV = 'BENCH_SERVER';

/** What the server process is started with. */
export interface BenchServerOptions extends BenchReadOptions {
  /** An empty directory for the app's `DATA_DIR` (`MAIL_DIR` is inside it). */
  dataDir: string;
  /**
   * `MASTER_KEY` (base64 of 32 bytes). API processes on one database must share it: the key
   * ring in the database is wrapped with it.
   */
  masterKey: string;
  /** Platform owners to create (`PlatformOwners.create`) before the server reports ready. */
  owners: number;
  /** Users to issue a session for (`Sessions.issue`) before the server reports ready. */
  sessionsFor?: string[];
}

/** A platform owner the server created; MFA is not enrolled yet. */
export interface BenchOwner {
  email: string;
  password: string;
}

/** Server → parent: it listens on `port`, these owners exist, and these sessions (of `sessionsFor`, in order). */
export interface ServerReady {
  type: 'ready';
  port: number;
  owners: BenchOwner[];
  tokens: string[];
}

/** Parent → server: "how much CPU have you used?" */
export interface CpuRequest {
  type: 'cpu';
}

/** Server → parent: its `process.cpuUsage()`, in microseconds. */
export interface CpuReply {
  type: 'cpu';
  usage: NodeJS.CpuUsage;
}

/**
 * Parent → server, BENCH ONLY: whether `AuditTrail.record` writes events (`true`, the app as it
 * ships) or is replaced by a no-op (`false`), for the "auditing off" baseline. The server answers
 * with the same message once it has switched.
 */
export interface AuditSwitch {
  type: 'audit';
  recording: boolean;
}

export type ParentMessage = CpuRequest | AuditSwitch;
export type ServerMessage = ServerReady | CpuReply | AuditSwitch;
