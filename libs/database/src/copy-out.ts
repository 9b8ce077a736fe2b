import type { Pool, PoolClient } from 'pg';
import type { Readable } from 'node:stream';
import { type CopyToStreamQuery, to as copyTo } from 'pg-copy-streams';

/** A `COPY (...) TO STDOUT` running on a transaction's connection ({@link TenantWork.copyOut}). */
export interface CopyOut {
  /** The bytes PostgreSQL sends, chunk by chunk; the server waits while they are not read. */
  chunks(): AsyncIterable<Buffer>;
  /** Rows copied: known once `chunks()` has ended. */
  readonly rowCount: number;
  /**
   * Ends a COPY that is not read to its end (the reader failed or was stopped): cancels it in
   * PostgreSQL and discards what is still on its way, so the connection can roll the transaction
   * back. A COPY dropped without this would hold the connection forever.
   */
  stop(): Promise<void>;
}

/** pg-copy-streams' query: a readable stream that pg also drives as a query. */
type CopyStream = CopyToStreamQuery & {
  handleReadyForQuery(connection: unknown): void;
  handleError(error: Error, connection: unknown): void;
};

/**
 * Starts `sql` on `client` once `idle` has settled (what was sent before it has been answered:
 * a COPY takes the socket over, so nothing may still be on its way); `canceller` is a pool whose
 * connections can cancel it. `retire` hears of a COPY that ended in an error (stopped, or failed
 * in PostgreSQL): the connection must then leave the pool when its transaction ends.
 */
export function startCopyOut(
  client: PoolClient,
  canceller: Pool,
  sql: string,
  idle: Promise<unknown>,
  retire: (reason: Error) => void,
): CopyOut {
  const stream = copyTo(sql) as CopyStream;
  let settled = false;
  const done = new Promise<void>((resolve) => {
    const finish = () => {
      settled = true;
      resolve();
    };
    stream.once('end', finish);
    // Also the consumer's: this listener only keeps an error after a stop from going unheard.
    stream.on('error', finish);
  });
  const started = idle.then(() => {
    client.query(unpipelined(client, stream, retire));
  });
  started.catch(() => undefined); // observed by chunks() and stop(); this only keeps it "handled"
  return {
    async *chunks() {
      await started;
      yield* (stream as Readable).iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>;
    },
    get rowCount() {
      return stream.rowCount;
    },
    async stop() {
      await started;
      if (settled) return;
      const pid = (client as unknown as { processID: number }).processID;
      await canceller.query('select pg_cancel_backend($1)', [pid]);
      stream.resume();
      await done;
    },
  };
}

/**
 * A COPY reads the connection's socket itself, so nothing may be pipelined behind it: the
 * connection leaves pipeline mode for it (queries sent meanwhile wait their turn) and returns to
 * it when PostgreSQL is ready for the next query after the COPY.
 *
 * Not after a COPY that failed: pg lets go of a query at its error, before the ReadyForQuery that
 * follows, so that ReadyForQuery never reaches it; and switching back at the error would hand
 * that ReadyForQuery to the first pipelined query. Such a connection is retired instead, so none
 * goes back to the pool out of pipeline mode (every later query a round trip at a time, through
 * the queue pg 9 removes).
 */
function unpipelined(client: PoolClient, query: CopyStream, retire: (reason: Error) => void): CopyStream {
  const connection = client as unknown as { pipeline: boolean };
  const pipelined = connection.pipeline;
  const ready = query.handleReadyForQuery.bind(query);
  const failed = query.handleError.bind(query);
  connection.pipeline = false;
  query.handleReadyForQuery = (con) => {
    connection.pipeline = pipelined;
    ready(con);
  };
  query.handleError = (error, con) => {
    retire(error);
    failed(error, con);
  };
  return query;
}
