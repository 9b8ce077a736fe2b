import { Client } from 'pg';
import type { TestDatabase } from './test-cluster';

/**
 * What a refused request may change, and nothing else (docs/reliability.md says why):
 * - `audit_events` may gain events whose outcome is `denied` (a refusal is recorded, e.g.
 *   `authz.denied`, `auth.login.failed`); it may not gain an `allowed` event or lose any event;
 * - `audit_heads` and `audit_checkpoints` belong to the sealer and checkpoint timers, which run on
 *   their own schedule; the chains are checked with the audit verifier instead;
 * - `auth_attempts` is the sign-in rate limiter's ledger: counting refused sign-ins is its job;
 * - `sessions.last_seen_at` is the idle clock a signed-in request resets, refused or not;
 * - `users.failed_sign_ins` and `users.locked_until` are the account back-off a wrong password
 *   feeds.
 */
const LEDGER_TABLES = ['audit_heads', 'audit_checkpoints', 'auth_attempts'];
const VOLATILE_COLUMNS: Record<string, string[]> = {
  sessions: ['last_seen_at'],
  users: ['failed_sign_ins', 'locked_until'],
};

/** Per table, `<rows>:<digest of the rows>`; for audit_events, the count of allowed events. */
export type DatabaseState = Record<string, string>;

/**
 * Reads the whole database's contents as the superuser in one round trip, so it can be taken
 * around every single request: every table but the ledgers above, each reduced to a digest.
 */
export class DatabaseStateReader {
  private constructor(
    private readonly client: Client,
    private readonly query: string,
    /** Counts rows of background work still going (`status` 'queued' or 'running': a backup run). */
    private readonly workQuery: string,
  ) {}

  static async open(db: TestDatabase): Promise<DatabaseStateReader> {
    const client = new Client({ connectionString: db.adminUrl });
    await client.connect();
    const { rows } = await client.query<{ name: string }>(
      `select relname as name from pg_class
        where relnamespace = 'public'::regnamespace and relkind in ('r', 'p') and not relispartition
        order by 1`,
    );
    const parts = rows
      .map((row) => row.name)
      .filter((name) => !LEDGER_TABLES.includes(name))
      .map((name) => {
        if (name === 'audit_events') {
          return `select 'audit_events' as name, count(*) filter (where outcome <> 'denied') || ' allowed, ' ||
                  count(*) filter (where outcome = 'denied') || ' denied' as state from audit_events`;
        }
        const drop = (VOLATILE_COLUMNS[name] ?? []).map((column) => ` - '${column}'`).join('');
        const row = `(to_jsonb(t)${drop})::text`;
        return `select '${name}' as name, count(*) || ':' || coalesce(md5(string_agg(${row}, E'\\n' order by ${row})), '') as state from "${name}" t`;
      });
    const { rows: withStatus } = await client.query<{ name: string }>(
      `select c.relname as name from pg_class c join pg_attribute a on a.attrelid = c.oid
        where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relispartition
          and a.attname = 'status' and a.atttypid = 'text'::regtype`,
    );
    const work = withStatus.map(
      ({ name }) => `(select count(*) from "${name}" where status in ('queued', 'running'))`,
    );
    return new DatabaseStateReader(
      client,
      parts.join('\nunion all\n'),
      `select ${work.length > 0 ? work.join(' + ') : '0'} as n`,
    );
  }

  async read(): Promise<DatabaseState> {
    const { rows } = await this.client.query<{ name: string; state: string }>(this.query);
    return Object.fromEntries(rows.map((row) => [row.name, row.state]));
  }

  /**
   * The state once background work a success started (a backup run, an export) has stopped
   * changing it: two reads `quietMs` apart that agree while no row says it is queued or running,
   * or an error after `timeoutMs`.
   */
  async settled({ quietMs = 150, timeoutMs = 60_000 } = {}): Promise<DatabaseState> {
    const deadline = Date.now() + timeoutMs;
    let previous = await this.read();
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, quietMs));
      const current = await this.read();
      if (
        forbiddenChanges(previous, current).length === 0 &&
        sameTables(previous, current) &&
        !(await this.working())
      ) {
        return current;
      }
      if (Date.now() > deadline) throw new Error(`the database kept changing for ${timeoutMs} ms`);
      previous = current;
    }
  }

  private async working(): Promise<boolean> {
    const { rows } = await this.client.query<{ n: string }>(this.workQuery);
    return Number(rows[0]?.n ?? 0) > 0;
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}

/**
 * How `after` differs from `before` in ways a refused request may not cause: one line per table
 * that changed (empty when none did). audit_events may only gain denied events.
 */
export function forbiddenChanges(before: DatabaseState, after: DatabaseState): string[] {
  const changes: string[] = [];
  for (const name of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (name === 'audit_events') {
      const [allowedBefore, deniedBefore] = counts(before[name]);
      const [allowedAfter, deniedAfter] = counts(after[name]);
      if (allowedAfter !== allowedBefore || deniedAfter < deniedBefore) {
        changes.push(`audit_events: ${before[name]} -> ${after[name]}`);
      }
    } else if (before[name] !== after[name]) {
      changes.push(`${name}: ${before[name]} -> ${after[name]}`);
    }
  }
  return changes;
}

function counts(state: string | undefined): [number, number] {
  const match = /^(\d+) allowed, (\d+) denied$/.exec(state ?? '');
  return match ? [Number(match[1]), Number(match[2])] : [-1, -1];
}

function sameTables(a: DatabaseState, b: DatabaseState): boolean {
  return Object.keys(a).every((name) => name === 'audit_events' || a[name] === b[name]);
}
