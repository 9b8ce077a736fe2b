import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, hostname } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AuditLog } from '@forecourt/audit';

/**
 * How hard the suite pushes: `full` (npm run test:reliability) or `short` (RELIABILITY_MODE=short,
 * what .ci/run runs): the same checks with fewer generated inputs per operation.
 */
export interface ReliabilityMode {
  name: 'full' | 'short';
  /** Generated hostile requests per operation. */
  hostileRunsPerOperation: number;
  /** fast-check's seed: RELIABILITY_SEED replays a run. */
  seed: number;
}

export function reliabilityMode(): ReliabilityMode {
  const short = process.env.RELIABILITY_MODE === 'short';
  // CI's short run is repeatable (a fixed seed); a full run explores new inputs each time.
  const seed = process.env.RELIABILITY_SEED
    ? Number(process.env.RELIABILITY_SEED)
    : short
      ? 20_261_201
      : Date.now() % 2 ** 31;
  return { name: short ? 'short' : 'full', hostileRunsPerOperation: short ? 12 : 100, seed };
}

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface Probe {
  method: Method;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
}

export interface Answer {
  status: number;
  contentType: string;
  body: string;
}

/** A request that takes longer than this counts as a hang. */
const HANG_MS = 15_000;

/** Sends `probe` through the app's real HTTP pipeline; a hang rejects instead of waiting forever. */
export async function send(app: NestFastifyApplication, probe: Probe): Promise<Answer> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${HANG_MS} ms`)), HANG_MS);
  });
  try {
    const response = await Promise.race([
      app.inject({ method: probe.method, url: probe.url, headers: probe.headers, payload: probe.payload }),
      hang,
    ]);
    return {
      status: response.statusCode,
      contentType: String(response.headers['content-type'] ?? ''),
      body: response.body,
    };
  } finally {
    clearTimeout(timer);
  }
}

/** What is wrong with an answer to a hostile request: a 5xx, or a 4xx that is not problem+json. */
export function contractBreach(answer: Answer): string | null {
  if (answer.status >= 500) return `answered ${answer.status}: ${answer.body.slice(0, 300)}`;
  if (answer.status < 400) return null;
  if (!answer.contentType.startsWith('application/problem+json')) {
    return `answered ${answer.status} as ${answer.contentType || 'no content type'}, not problem+json`;
  }
  try {
    const problem = JSON.parse(answer.body) as { status?: unknown; type?: unknown };
    if (problem.status !== answer.status || typeof problem.type !== 'string') {
      return `answered ${answer.status} with a problem that says status ${String(problem.status)}`;
    }
  } catch {
    return `answered ${answer.status} with a body that is not JSON`;
  }
  return null;
}

/** Every audit chain of the app, sealed and verified; the chains that do not verify, with why. */
export async function brokenChains(app: NestFastifyApplication): Promise<string[]> {
  const log = app.get(AuditLog);
  const broken: string[] = [];
  for (const chain of await log.chains()) {
    const report = await log.verify(chain);
    if (!report.ok) broken.push(`${chain}: ${report.reason ?? 'not ok'} at ${report.firstInvalidSeq}`);
  }
  return broken;
}

/** A short description of a probe for a failure message (bodies cut, binary shown as length). */
export function describe(probe: Probe, label: string): string {
  const body =
    probe.payload === undefined
      ? ''
      : typeof probe.payload === 'string'
        ? ` ${JSON.stringify(probe.payload.slice(0, 200))}`
        : ` <${probe.payload.length} bytes>`;
  return `${probe.method} ${probe.url.slice(0, 200)} [${label}]${body}`;
}

const REPORT = join(__dirname, '..', '..', 'docs', 'reliability.md');

/**
 * Replaces the figures between `<!-- figures:<section> -->` and `<!-- /figures:<section> -->` in
 * docs/reliability.md. Only a full run writes: a short (CI) run must not rewrite the committed
 * report with smaller numbers.
 */
export function recordFigures(mode: ReliabilityMode, section: string, markdown: string): void {
  if (mode.name !== 'full') return;
  const start = `<!-- figures:${section} -->`;
  const end = `<!-- /figures:${section} -->`;
  const text = readFileSync(REPORT, 'utf8');
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`docs/reliability.md has no ${start} … ${end} section`);
  const stamp =
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${hostname()} ` +
    `(${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}), mode ${mode.name}, seed ${mode.seed}.`;
  const updated = `${text.slice(0, from + start.length)}\n\n${stamp}\n\n${markdown.trim()}\n\n${text.slice(to)}`;
  writeFileSync(REPORT, updated);
  // Formatted as `prettier --check .` (CI) expects, so a full run leaves a committable page. Run as
  // a process: Prettier's API loads its plugins with a dynamic import, which Jest's VM refuses.
  execFileSync(join(__dirname, '..', '..', 'node_modules', '.bin', 'prettier'), [
    '--write',
    '--log-level',
    'warn',
    REPORT,
  ]);
}

/**
 * How long the database must stay quiet after a success before the next request's "before" state
 * is read: a 202 started work that runs on (a backup writes its row as it goes, with pauses of
 * seconds), anything else finished with its answer, bar timers.
 */
export function quietAfter(status: number): { quietMs: number; timeoutMs: number } {
  return status === 202 ? { quietMs: 2_000, timeoutMs: 180_000 } : { quietMs: 150, timeoutMs: 60_000 };
}
