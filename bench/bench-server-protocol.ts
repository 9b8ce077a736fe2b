/** How `http-read.bench.ts` and its server process (`bench-server.ts`) talk over IPC. */

/** The environment variable carrying the server's {@link BenchReadOptions} as JSON. */
export const BENCH_SERVER_ENV = 'BENCH_SERVER';

/** Server → parent: it listens on `port`. */
export interface ServerReady {
  type: 'ready';
  port: number;
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

export type ServerMessage = ServerReady | CpuReply;
