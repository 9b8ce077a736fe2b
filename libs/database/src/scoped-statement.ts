import * as pg from 'pg';
import type { QueryResult, QueryResultRow } from 'pg';

/**
 * The parts of node-pg's `Query` this file relies on. They are internal to node-pg (not in its
 * type definitions), so `test/service/single-round-trip.spec.ts` exercises each path: rows,
 * writes, a failing statement, and the setting's end at the Sync.
 */
interface PgConnection {
  parse(message: { text: string; name: string; types: unknown[] }): void;
  bind(message: { portal: string; statement: string; values: unknown[]; valueMapper: unknown }): void;
  execute(message: { portal: string; rows: number }): void;
  stream: { cork?: () => void; uncork?: () => void };
}

interface PgQueryInternals {
  callback?: (error: Error | null, result: QueryResult) => void;
  prepare(connection: PgConnection): void;
  handleDataRow(message: unknown): void;
  handleCommandComplete(message: unknown, connection: PgConnection): void;
}

type QueryConstructor = new (config: {
  text: string;
  values: unknown[];
  queryMode: 'extended';
}) => PgQueryInternals;

const BaseQuery = pg.Query as unknown as QueryConstructor;
const { prepareValue } = (pg as unknown as { utils: { prepareValue: (value: unknown) => unknown } }).utils;

/**
 * A statement preceded by the statement that sets the tenant context, sent as one
 * extended-protocol batch that ends in a single Sync. PostgreSQL runs everything before a Sync as
 * one implicit transaction, so the transaction-local context lasts exactly as long as the
 * statement — one round trip, no BEGIN or COMMIT — and the Sync commits a write before the
 * answer arrives. An error in either statement aborts both.
 */
class ScopedStatement extends BaseQuery {
  private contextDone = false;

  constructor(
    private readonly context: { text: string; values: unknown[] },
    statement: { text: string; values: unknown[] },
    callback: (error: Error | null, result: QueryResult) => void,
  ) {
    super({ ...statement, queryMode: 'extended' });
    this.callback = callback;
  }

  override prepare(connection: PgConnection): void {
    connection.stream.cork?.();
    try {
      connection.parse({ text: this.context.text, name: '', types: [] });
      connection.bind({ portal: '', statement: '', values: this.context.values, valueMapper: prepareValue });
      connection.execute({ portal: '', rows: 0 });
      super.prepare(connection); // the statement's Parse, Bind, Describe, Execute, then Sync
    } finally {
      connection.stream.uncork?.();
    }
  }

  override handleDataRow(message: unknown): void {
    if (this.contextDone) super.handleDataRow(message);
  }

  override handleCommandComplete(message: unknown, connection: PgConnection): void {
    if (!this.contextDone) {
      this.contextDone = true; // the context statement's completion: not part of the result
      return;
    }
    super.handleCommandComplete(message, connection);
  }
}

/** Sends `context` and `statement` in one round trip on `client` (see {@link ScopedStatement}). */
export function runScopedStatement<R extends QueryResultRow>(
  client: pg.ClientBase,
  context: { text: string; values: unknown[] },
  statement: { text: string; values: unknown[] },
): Promise<QueryResult<R>> {
  return new Promise((resolve, reject) => {
    const query = new ScopedStatement(context, statement, (error, result) =>
      error ? reject(error) : resolve(result as QueryResult<R>),
    );
    void client.query(query as unknown as pg.Submittable);
  });
}
