import autocannon from 'autocannon';
import { readdirSync, readFileSync } from 'node:fs';
import { quantile, type Sample } from './measure';

/** What one load row sends: GETs, each connection with its own session and its own paths. */
export interface LoadTarget {
  /** Connection `i` sends `Authorization: Bearer <tokens[i % length]>` throughout (none: no header). */
  tokens: readonly string[];
  /** Connection `i`'s next path, asked for before each of its requests. */
  pathFor(connection: number): () => string;
}

/**
 * autocannon against `origin` for `seconds`: the rate of 2xx answers, and p50/p99 of each
 * response's own time (autocannon's histogram would round them to whole milliseconds). Any
 * error, timeout or non-2xx answer fails the row.
 */
export async function load(
  origin: string,
  target: LoadTarget,
  connections: number,
  seconds: number,
): Promise<Sample & { completed: number }> {
  const latencies: number[] = [];
  let connection = 0;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: origin,
        connections,
        duration: seconds,
        setupClient: (client) => {
          const index = connection++;
          const next = target.pathFor(index);
          const token = target.tokens.length ? target.tokens[index % target.tokens.length] : undefined;
          client.setRequests([
            {
              method: 'GET',
              headers: token ? { authorization: `Bearer ${token}` } : {},
              setupRequest: (request) => ({ ...request, path: next() }),
            },
          ]);
        },
      },
      (error: Error | null, done) => (error ? reject(error) : resolve(done)),
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
  });
  const failed = result.errors + result.timeouts + result.non2xx;
  if (failed > 0) {
    const example = target.pathFor(0)();
    throw new Error(`GET ${example} (…): ${failed} failed requests (${result.non2xx} non-2xx)`);
  }
  latencies.sort((a, b) => a - b);
  return {
    completed: result['2xx'],
    opsPerSecond: result['2xx'] / result.duration,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
  };
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

/** A V8 CPU profile (`Profiler.stop`'s `profile`). */
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Native functions with no script that write to a socket (the syscall is their self time). */
const SOCKET_WRITES = new Set([
  'writev',
  'writeBuffer',
  'writeUtf8String',
  'writeLatin1String',
  'writeAsciiString',
]);

/** Where a function lives: a package, a Forecourt library, a part of node, or V8 itself. */
function groupOf(node: ProfileNode): string | null {
  const { functionName, url } = node.callFrame;
  if (functionName === '(idle)' || functionName === '(root)') return null;
  if (functionName === '(garbage collector)') return 'V8: garbage collector';
  if (functionName === '(program)') return 'V8: (program), native code outside JS';
  if (!url && SOCKET_WRITES.has(functionName)) return 'node native: socket writes (writev, writeBuffer)';
  if (!url) return 'V8/node native, no script (JSON, crypto, …)';
  if (url.startsWith('node:')) {
    const module = url.slice('node:'.length).replace(/^internal\//, '');
    return `node: ${module.split('/')[0]}`;
  }
  const packaged = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (packaged) return packaged[1]!;
  const own = /\/dist\/(libs\/[^/]+|apps\/[^/]+|config|bench|migrations)\//.exec(url);
  if (own) return `forecourt ${own[1]!.replace(/^libs\//, '@forecourt/')}`;
  return url;
}

function functionOf(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const place = url
    ? `${url.replace(/^.*\/(node_modules|dist)\//, '').replace(/^file:\/\//, '')}:${lineNumber + 1}`
    : '';
  return `${functionName || '(anonymous)'}${place ? ` ${place}` : ''}`;
}

/** Main-thread self time of one profile, by group and by function, and the busy total. */
export interface ProfileSummary {
  /** Requests completed while profiling. */
  requests: number;
  /** Sampled time not idle, in µs. */
  busyMicros: number;
  /** Busy time over the profile's wall time. */
  busyShare: number;
  /** µs of self time, by group. */
  groups: Map<string, number>;
  /** µs of self time by function, and the caller that most of it came through. */
  functions: Map<string, { micros: number; callers: Map<string, number> }>;
}

/** Self time by group and by function; each sample counts for the time to the next one. */
export function summarizeProfile(profile: CpuProfile, requests: number): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, ProfileNode>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node);
  const groups = new Map<string, number>();
  const functions: ProfileSummary['functions'] = new Map();
  let busy = 0;
  profile.samples.forEach((id, index) => {
    const node = byId.get(id);
    const micros = profile.timeDeltas[index + 1] ?? 0;
    const group = node ? groupOf(node) : null;
    if (!node || group === null) return;
    busy += micros;
    groups.set(group, (groups.get(group) ?? 0) + micros);
    const name = functionOf(node);
    const entry = functions.get(name) ?? { micros: 0, callers: new Map<string, number>() };
    entry.micros += micros;
    const parent = parentOf.get(node.id);
    const caller = parent ? functionOf(parent) : '';
    entry.callers.set(caller, (entry.callers.get(caller) ?? 0) + micros);
    functions.set(name, entry);
  });
  return {
    requests,
    busyMicros: busy,
    busyShare: busy / (profile.endTime - profile.startTime),
    groups,
    functions,
  };
}

/** The caller most of a function's self time came through. */
export function mainCaller(callers: Map<string, number>): string {
  return [...callers].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
}

/** Linux reports process and system CPU time in USER_HZ ticks, 100 per second on every architecture. */
const MICROS_PER_TICK = 10_000;

/**
 * CPU time (user + system, µs) used so far by a process and its direct children, live or reaped:
 * the postmaster and its backends and workers.
 */
export function processTreeCpuMicros(rootPid: number): number {
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // After "pid (comm) ": state, ppid, … utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const isRoot = Number(entry) === rootPid;
    if (!isRoot && Number(fields[1]) !== rootPid) continue;
    ticks += Number(fields[11]) + Number(fields[12]);
    // The root's cutime and cstime hold the CPU of the children it has reaped: without them, a
    // backend that exits between two readings (a pool closing an idle connection) takes its CPU
    // out of the sum, and the difference can come out negative.
    if (isRoot) ticks += Number(fields[13]) + Number(fields[14]);
  }
  return ticks * MICROS_PER_TICK;
}

/** Busy CPU time of the whole machine so far (all CPUs; user, nice, system, irq, softirq), µs. */
export function machineBusyMicros(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = fields;
  return (user + nice + system + irq + softirq) * MICROS_PER_TICK;
}
