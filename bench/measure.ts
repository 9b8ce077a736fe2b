/** One timed run of one benchmark row. */
export interface Sample {
  opsPerSecond: number;
  /** Milliseconds. */
  p50: number;
  p99: number;
  /** CPU time the API process spent per request, in microseconds (HTTP rows only). */
  cpuPerOp?: number;
}

/** How every load row is driven: same concurrency and timing for all of them. */
export interface LoadSettings {
  /** Concurrent clients (database connections or HTTP connections). */
  connections: number;
  warmupSeconds: number;
  seconds: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The value at quantile `q` (0..1) of already sorted values. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** The median of each field over several runs of the same row. */
export function medianSample(samples: readonly Sample[]): Sample {
  const cpu = samples.flatMap((sample) => (sample.cpuPerOp === undefined ? [] : [sample.cpuPerOp]));
  return {
    opsPerSecond: median(samples.map((sample) => sample.opsPerSecond)),
    p50: median(samples.map((sample) => sample.p50)),
    p99: median(samples.map((sample) => sample.p99)),
    ...(cpu.length ? { cpuPerOp: median(cpu) } : {}),
  };
}

export function pick<T>(values: readonly T[]): T {
  return values[Math.floor(Math.random() * values.length)]!;
}
