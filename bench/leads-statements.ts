import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as pg from 'pg';
import { markdownTable } from './report';

/** One statement as a request sent it, with the tenant context it ran under (if any). */
export interface SentStatement {
  text: string;
  values: unknown[];
  /** The context statement sent in the same batch (`TenantTransaction.statement`). */
  context?: { text: string; values: unknown[] };
  /** Sent as a prepared statement of its connection (`statement(…, { prepared: true })`). */
  prepared?: boolean;
}

const SET_CONTEXT = /set_config\('app\.tenant_id'/;

/**
 * Every statement sent to PostgreSQL while `work` runs, from every `pg` client of this process
 * (`Client#query` shadowed meanwhile): run it while nothing else in the process uses the database.
 */
export async function sentStatements(work: () => Promise<unknown>): Promise<SentStatement[]> {
  const clients = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const query = clients.query;
  const sent: SentStatement[] = [];
  clients.query = function (this: pg.Client, ...args: unknown[]) {
    const [first, second] = args;
    const values = Array.isArray(second) ? (second as unknown[]) : [];
    if (typeof first === 'string') sent.push({ text: first, values });
    else if (first && typeof first === 'object' && typeof (first as { text?: unknown }).text === 'string') {
      const statement = first as {
        text: string;
        values?: unknown[];
        name?: string;
        context?: SentStatement['context'];
      };
      sent.push({
        text: statement.text,
        values: statement.values ?? values,
        ...(statement.context ? { context: statement.context } : {}),
        ...(statement.name ? { prepared: true } : {}),
      });
    }
    return query.apply(this, args);
  };
  try {
    await work();
  } finally {
    clients.query = query;
  }
  return sent;
}

const MICROS_PER_TICK = 10_000;

function backendCpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * MICROS_PER_TICK;
}

/** A short, one-line name for a statement. */
function nameOf(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  if (/^insert into audit_events/.test(line))
    return 'insert into audit_events … jsonb_to_recordset($1) (the event)';
  if (AUDIT_GROUP_COMMIT.test(line))
    return 'with seal … update audit_heads … insert into audit_events (the event, sealed, group commit)';
  if (SET_CONTEXT.test(line) && /app\.prove_session/.test(line))
    return "select set_config('app.tenant_id', …) ×4, app.prove_session(…) (tenant context + session check)";
  if (SET_CONTEXT.test(line)) return "select set_config('app.tenant_id', …) ×4 (tenant context)";
  if (/^with live as \( select s\.id, s\.last_seen_at/.test(line))
    return 'select … from sessions join users (+ last_seen_at moved when a minute old) (session check)';
  if (/from leads l left join customers c/.test(line))
    return 'select … from leads l left join customers c … order by l.id limit $3 (lead list)';
  if (/from customers c where c\.tenant_id = \$1 and c\.id = \$2/.test(line))
    return 'select … from customers c where tenant_id, id (+ consent subquery)';
  return line.length > 90 ? `${line.slice(0, 87)}…` : line;
}

const AUDIT_GROUP_COMMIT = /^with seal as \(.*insert into audit_events/s;

/**
 * The values to run a statement again with. An audit insert's events get new ids, so that each
 * run inserts new rows; a group commit that went in sealed goes in sealed again, numbered on from
 * the chain's head as it stands (read here first, under `under`) and linked, with random hashes
 * (the database checks the links, not the hashes; this is a throw-away trail).
 */
async function replayValues(
  client: pg.Client,
  statement: SentStatement,
  under: SentStatement['context'],
): Promise<() => unknown[]> {
  const text = statement.text.replace(/\s+/g, ' ').trim();
  if (/^insert into audit_events/.test(text)) {
    const events = JSON.parse(String(statement.values[0])) as { id: string }[];
    return () => [JSON.stringify(events.map((event) => ({ ...event, id: randomUUID() })))];
  }
  if (!AUDIT_GROUP_COMMIT.test(text)) return () => statement.values;
  const [lock, chain, sealedAfter, payload] = statement.values;
  const events = JSON.parse(String(payload)) as { id: string }[];
  if (Number(sealedAfter) < 0)
    return () => [
      lock,
      chain,
      sealedAfter,
      JSON.stringify(events.map((event) => ({ ...event, id: randomUUID() }))),
    ];
  if (under) {
    const wide = sessionWide(under);
    await client.query(wide.text, wide.values);
  }
  const { rows } = await client.query<{ seq: string; hash: string }>(
    `select seq, encode(hash, 'hex') as hash from audit_heads where tenant_id = $1`,
    [chain],
  );
  await client.query('reset all');
  let head = { seq: Number(rows[0]?.seq ?? 0), hash: rows[0]?.hash ?? '0'.repeat(64) };
  return () => {
    const after = head;
    const sealed = events.map((event) => {
      const next = { seq: head.seq + 1, hash: randomBytes(32).toString('hex') };
      const row = { ...event, id: randomUUID(), seq: next.seq, prevHash: head.hash, hash: next.hash };
      head = next;
      return row;
    });
    return [lock, chain, after.seq, JSON.stringify(sealed), after.hash, head.seq, head.hash];
  };
}

/** The context statement made session-wide (`set_config(…, false)`), so each execution can commit on its own. */
function sessionWide(context: { text: string; values: unknown[] }): { text: string; values: unknown[] } {
  return { text: context.text.replace(/, true\)/g, ', false)'), values: context.values };
}

/**
 * PostgreSQL's CPU per execution of each statement a request sent: each run again one at a time
 * on a connection of its own as the runtime role, under the context it ran under (set for the
 * session), each execution its own implicit transaction as in the app (so writes commit, and row
 * versions are pruned as they are under load), for at least `seconds`; the backend's CPU time
 * (user + system, from /proc) over the executions. Each figure includes a round trip's share of
 * protocol and wake-up work. The context statement is counted once per batch that carries it.
 * Audit events run again get new ids: they are real rows in the trail of a throw-away database.
 */
export async function statementCosts(
  runtimeUrl: string,
  routes: { id: string; statements: SentStatement[] }[],
  seconds: number,
): Promise<string> {
  const client = new pg.Client({ connectionString: runtimeUrl });
  await client.connect();
  const rows: string[][] = [];
  let replays = 0;
  try {
    const pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    const repeat = async (run: (index: number) => Promise<unknown>) => {
      const cpu = backendCpuMicros(pid);
      const started = performance.now();
      let count = 0;
      while (count < 20 || performance.now() - started < seconds * 1000) await run(count++);
      return {
        cpu: (backendCpuMicros(pid) - cpu) / count,
        wall: ((performance.now() - started) * 1000) / count,
      };
    };
    /** Planning and execution time from `EXPLAIN (ANALYZE)`, second of two runs, rolled back. */
    const explained = async (text: string, values: () => unknown[], under: SentStatement['context']) => {
      if (SET_CONTEXT.test(text)) return {};
      let plan = '';
      await client.query('begin');
      try {
        if (under) await client.query(under.text, under.values);
        for (let run = 0; run < 2; run++) {
          const { rows } = await client.query<{ 'QUERY PLAN': string }>(
            `explain (analyze) ${text}`,
            values(),
          );
          plan = rows.map((row) => row['QUERY PLAN']).join('\n');
        }
      } finally {
        await client.query('rollback');
      }
      return {
        planning: /Planning Time: ([\d.]+) ms/.exec(plan)?.[1] ?? '',
        execution: /Execution Time: ([\d.]+) ms/.exec(plan)?.[1] ?? '',
      };
    };
    for (const route of routes) {
      let context: SentStatement['context'];
      let total = 0;
      let transactions = 0;
      const named = new Map<
        string,
        { count: number; cpu: number; wall: number; planning?: string; execution?: string }
      >();
      const measure = async (
        name: string,
        statement: { text: string; values: unknown[]; prepared?: boolean },
        under: SentStatement['context'],
        values: () => unknown[] = () => statement.values,
      ) => {
        const known = named.get(name);
        if (known) {
          known.count += 1;
          total += known.cpu;
          return;
        }
        if (under) {
          const wide = sessionWide(under);
          await client.query(wide.text, wide.values);
        }
        try {
          const prepared = statement.prepared ? { name: `replay_${(replays += 1)}` } : {};
          const cost = await repeat(() =>
            client.query({ ...prepared, text: statement.text, values: values() }),
          );
          named.set(name, { count: 1, ...cost, ...(await explained(statement.text, values, under)) });
          total += cost.cpu;
        } finally {
          await client.query('reset all');
        }
      };
      for (const statement of route.statements) {
        const text = statement.text.trim().toLowerCase();
        if (text === 'begin') {
          transactions += 1;
          continue;
        }
        if (text === 'commit' || text === 'rollback') continue;
        if (statement.context) await measure(nameOf(statement.context.text), statement.context, undefined);
        if (SET_CONTEXT.test(statement.text)) {
          context = { text: statement.text, values: statement.values };
          await measure(nameOf(statement.text), statement, undefined);
          continue;
        }
        const under = statement.context ?? context;
        await measure(nameOf(statement.text), statement, under, await replayValues(client, statement, under));
      }
      if (transactions > 0) {
        const cost = await repeat(async () => {
          await client.query('begin');
          await client.query('commit');
        });
        named.set('begin; … commit (an explicit transaction: two more statements)', {
          count: transactions,
          ...cost,
        });
        total += cost.cpu * transactions;
      }
      for (const [name, cost] of named) {
        rows.push([
          route.id,
          name,
          String(cost.count),
          cost.cpu.toFixed(0),
          cost.planning ?? '',
          cost.execution ?? '',
          cost.wall.toFixed(0),
        ]);
      }
      rows.push([route.id, '**all statements of one request**', '', total.toFixed(0)]);
    }
  } finally {
    await client.end();
  }
  return markdownTable(
    [
      'route',
      'statement',
      'per request',
      'PostgreSQL CPU µs per execution',
      'EXPLAIN ANALYZE planning ms',
      'execution ms',
      'round trip µs (wall)',
    ],
    rows,
  );
}
