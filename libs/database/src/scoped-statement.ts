import * as pg from 'pg';
import type { QueryResult, QueryResultRow } from 'pg';

/**
 * The parts of node-pg's `Query` this file relies on. They are internal to node-pg (not in its
 * type definitions), so `test/service/single-round-trip.spec.ts` exercises each path: rows,
 * writes, a failing statement, and the setting's end at the Sync.
 */
interface PgConnection {
  parsedStatements: Record<string, string | undefined>;
  parse(message: { text: string; name: string; types: unknown[] }): void;
  close(message: { type: 'S'; name: string }): void;
  bind(message: { portal: string; statement: string; values: unknown[]; valueMapper: unknown }): void;
  execute(message: { portal: string; rows: number }): void;
  stream: { cork?: () => void; uncork?: () => void };
}

interface PgQueryInternals {
  callback?: (error: Error | null, result: QueryResult) => void;
  name?: string;
  prepare(connection: PgConnection): void;
  hasBeenParsed(connection: PgConnection): boolean;
  handleError(error: Error, connection: PgConnection): void;
  handleDataRow(message: unknown): void;
  handleCommandComplete(message: unknown, connection: PgConnection): void;
}

type QueryConstructor = new (
  text: string,
  values: unknown[],
) => PgQueryInternals & {
  queryMode?: 'extended';
};

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
  private parsedBefore = false;
  private contextParsedBefore = false;

  constructor(
    private readonly context: ScopedStatementText,
    statement: ScopedStatementText,
    callback: (error: Error | null, result: QueryResult) => void,
  ) {
    // Text and values rather than a config object: node-pg copies a config object property by
    // property (`cloneQueryConfig`), which cost the hot read about 10 µs per statement.
    super(statement.text, statement.values);
    this.name = statement.name;
    this.queryMode = 'extended';
    this.callback = callback;
  }

  override prepare(connection: PgConnection): void {
    this.parsedBefore = this.hasBeenParsed(connection);
    connection.stream.cork?.();
    try {
      // A failed first use may or may not have left the prepared statement behind (see
      // handleError); closing a statement that does not exist is no error, so the Parse that
      // follows always finds the name free.
      if (this.name && !this.parsedBefore) connection.close({ type: 'S', name: this.name });
      const contextName = this.context.name ?? '';
      this.contextParsedBefore = contextName !== '' && connection.parsedStatements[contextName] !== undefined;
      if (!this.contextParsedBefore) {
        if (contextName) connection.close({ type: 'S', name: contextName });
        connection.parse({ text: this.context.text, name: contextName, types: [] });
      }
      connection.bind({
        portal: '',
        statement: contextName,
        values: this.context.values,
        valueMapper: prepareValue,
      });
      connection.execute({ portal: '', rows: 0 });
      super.prepare(connection); // the statement's Parse, Bind, Describe, Execute, then Sync
    } finally {
      connection.stream.uncork?.();
    }
  }

  override handleError(error: Error, connection: PgConnection): void {
    // node-pg marks a named statement parsed at the first ParseComplete of the batch, which is the
    // context's, so after a failed first use it may not exist: the next use prepares it again.
    if (this.name && !this.parsedBefore) delete connection.parsedStatements[this.name];
    super.handleError(error, connection);
  }

  override handleDataRow(message: unknown): void {
    if (this.contextDone) super.handleDataRow(message);
  }

  override handleCommandComplete(message: unknown, connection: PgConnection): void {
    if (!this.contextDone) {
      this.contextDone = true; // the context statement's completion: not part of the result
      if (this.context.name) connection.parsedStatements[this.context.name] = this.context.text;
      return;
    }
    super.handleCommandComplete(message, connection);
  }
}

/** A statement's text and values; a `name` makes it a prepared statement of the connection. */
export interface ScopedStatementText {
  text: string;
  values: unknown[];
  name?: string;
}

/** Sends `context` and `statement` in one round trip on `client` (see {@link ScopedStatement}). */
export function runScopedStatement<R extends QueryResultRow>(
  client: pg.ClientBase,
  context: ScopedStatementText,
  statement: ScopedStatementText,
): Promise<QueryResult<R>> {
  return new Promise((resolve, reject) => {
    const query = new ScopedStatement(context, statement, (error, result) =>
      error ? reject(error) : resolve(result as QueryResult<R>),
    );
    void client.query(query as unknown as pg.Submittable);
  });
}
