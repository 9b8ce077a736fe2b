import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { ClsService } from 'nestjs-cls';
import { SessionProofError, SessionProofErrorCode } from '@forecourt/core';
import { DatabaseError, type Pool, type PoolClient, type QueryResult, type QueryResultRow } from 'pg';
import { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { type CopyOut, startCopyOut } from './copy-out';
import { runScopedStatement } from './scoped-statement';
import { scopeSettings, TenantScope } from './tenant-scope';

/** The open unit of work: one connection, one transaction, the tenant context set. */
export interface TenantWork {
  readonly scope: TenantScope;
  /** TypeORM's manager bound to this transaction's connection. */
  readonly manager: EntityManager;
  /** Parameterised SQL on this transaction's connection. */
  query<R extends QueryResultRow = QueryResultRow>(sql: string, params?: unknown[]): Promise<QueryResult<R>>;
  /**
   * `COPY (...) TO STDOUT` on this transaction's connection: the bytes PostgreSQL sends, paused
   * while they are not read (bulk reads that should never become rows in memory). COPY takes no
   * parameters. Read it to its end, or `stop()` it, before anything else uses the transaction.
   */
  copyOut(sql: string): CopyOut;
}

export interface TenantTransactionOptions {
  /** statement_timeout for this transaction, in milliseconds. */
  timeoutMs?: number;
  /**
   * A transaction that only reads, all of it from one snapshot (`repeatable read, read only`):
   * for a consistent copy of several tables (a tenant's export).
   */
  readOnlySnapshot?: boolean;
}

export interface TenantStatementOptions extends Pick<TenantTransactionOptions, 'timeoutMs'> {
  /**
   * Keep the statement prepared on each connection, so PostgreSQL parses and plans it once per
   * connection instead of on every call: for fixed hot-path statements only (the text must not
   * be built from request data, or every variant would stay prepared).
   */
  prepared?: boolean;
  /**
   * Work not done for the request's caller (one statement carrying many requests' audit events):
   * it neither carries the caller's deferred session check nor counts as having made it.
   */
  detached?: boolean;
}

/**
 * What the database checks to prove a caller's session (`app.prove_session`): the session is
 * live (not revoked, expired, idle or deactivated) and its person's permissions are still those
 * the API cached with it.
 */
export interface SessionProof {
  readonly sessionId: string;
  readonly userId: string;
  readonly tokenHash: Buffer;
  readonly idleMinutes: number;
  readonly permissionsVersion: string;
}

/** Tenant-scoped queries outside a transaction, each its own unit of work ({@link TenantTransaction.statement}). */
export type TenantQueries = Pick<TenantWork, 'scope' | 'query'>;

/** Thrown when tenant data is reached outside a tenant transaction. */
export class TenantTransactionRequiredError extends Error {
  constructor() {
    super('tenant data was accessed outside a tenant transaction (use TenantTransaction.run)');
    this.name = 'TenantTransactionRequiredError';
  }
}

/** Thrown when a tenant transaction is opened inside another one. */
export class NestedTenantTransactionError extends Error {
  constructor() {
    super('a tenant transaction is already open in this context; pass its TenantWork instead');
    this.name = 'NestedTenantTransactionError';
  }
}

const DEFAULT_TIMEOUT_MS = 30_000;
const CURRENT_WORK = Symbol('TenantWork');
const DEFERRED_SESSION_CHECK = Symbol('DeferredSessionCheck');

/** A request's session check, deferred to its first unit of work; shared by every unit of the request. */
interface DeferredSessionCheck {
  readonly proof: SessionProof;
  proven: boolean;
  /** The context statement of the open transaction that carries the check, until it answers. */
  inFlight?: Promise<void>;
  /** The database's refusal, once a unit met it: the request is answered by it, never checked again. */
  failure?: SessionProofError;
}

// Transaction-local settings (set_config(..., true)): they end with the transaction, so a pooled
// connection never carries one request's tenant into the next.
const SET_CONTEXT = `select set_config('app.tenant_id', $1, true), set_config('app.store_ids', $2, true),
  set_config('app.user_id', $3, true), set_config('statement_timeout', $4, true)`;
/** The context statement is prepared once per connection: it starts every unit of work. */
const SET_CONTEXT_NAME = 'fc_set_context';
/** The context statement that also proves the caller's session: it raises FC401 or FC409 instead. */
const SET_CONTEXT_PROVING = `${SET_CONTEXT}, app.prove_session($5, $6, $7, $8, $9)`;
const SET_CONTEXT_PROVING_NAME = 'fc_set_context_proving';

function contextParams(scope: TenantScope, options: TenantTransactionOptions): string[] {
  const settings = scopeSettings(scope);
  const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return [settings.tenantId, settings.storeIds, settings.userId, String(Math.max(1, Math.floor(timeout)))];
}

/** The statement that starts a unit of work: the context, and the caller's session check when one is due. */
function contextStatement(
  scope: TenantScope,
  options: TenantTransactionOptions,
  check: DeferredSessionCheck | undefined,
): { name: string; text: string; values: unknown[] } {
  const values = contextParams(scope, options);
  if (!check) return { name: SET_CONTEXT_NAME, text: SET_CONTEXT, values };
  const { sessionId, userId, tokenHash, idleMinutes, permissionsVersion } = check.proof;
  return {
    name: SET_CONTEXT_PROVING_NAME,
    text: SET_CONTEXT_PROVING,
    values: [...values, sessionId, userId, tokenHash, idleMinutes, permissionsVersion],
  };
}

/**
 * The database's refusal of a deferred session check, as the error the API answers with; kept on
 * the check, so that the rest of the request meets the same answer without asking again.
 */
function sessionProofFailure(error: unknown, check: DeferredSessionCheck | undefined): unknown {
  if (!(error instanceof DatabaseError) || !check) return error;
  if (error.code === 'FC401') check.failure = new SessionProofError(SessionProofErrorCode.Ended);
  else if (error.code === 'FC409') check.failure = new SessionProofError(SessionProofErrorCode.Outdated);
  return check.failure ?? error;
}

/**
 * The only way to reach tenant data. A unit of work runs in one explicit transaction on one
 * connection whose first statement sets the tenant context; row-level security reads it.
 *
 * The connections pipeline their queries (pg's pipeline mode): BEGIN and the context statement
 * go out together with the unit's first query, so setting the context costs no extra round
 * trip. `statement` sends a whole single-statement unit in one round trip.
 */
@Injectable()
export class TenantTransaction {
  constructor(
    private readonly dataSource: DataSource,
    private readonly cls: ClsService,
  ) {}

  /** Runs `work` in a new tenant transaction: committed when it resolves, rolled back if it throws. */
  async run<T>(
    scope: TenantScope,
    work: (tx: TenantWork) => Promise<T>,
    options: TenantTransactionOptions = {},
  ): Promise<T> {
    const check = this.dueSessionCheck(false);
    const contextQuery = contextStatement(scope, options, check);
    if (this.cls.isActive() && this.cls.get(CURRENT_WORK)) throw new NestedTenantTransactionError();

    const runner = this.dataSource.createQueryRunner();
    const client = (await runner.connect()) as PoolClient;
    const begin = client.query(
      options.readOnlySnapshot ? 'begin isolation level repeatable read read only' : 'begin',
    );
    const contextSet = client.query(contextQuery).then(
      () => {
        if (check) check.proven = true;
      },
      (failure: unknown) => {
        throw sessionProofFailure(failure, check);
      },
    );
    if (check) check.inFlight = contextSet;
    const context = Promise.all([begin, contextSet]);
    context.catch(() => undefined); // observed below; this only keeps an early failure "handled"
    markTransactionOpen(runner, true);

    // A connection in a state not to be reused (a failed ROLLBACK, a COPY that ended in an error)
    // is destroyed on release instead of going back to the pool.
    let broken: Error | undefined;
    const tx: TenantWork = {
      scope,
      manager: runner.manager,
      query: (sql, values) => client.query(sql, values),
      copyOut: (sql) =>
        startCopyOut(client, this.pool(), sql, context, (reason) => {
          broken ??= reason;
        }),
    };

    try {
      const result = await this.cls.run({ ifNested: 'inherit' }, () => {
        this.cls.set(CURRENT_WORK, tx);
        return work(tx);
      });
      await context;
      await client.query('commit');
      return result;
    } catch (error) {
      const contextFailure = await context.then(
        () => undefined,
        (failure: unknown) => failure,
      );
      try {
        await client.query('rollback');
      } catch (rollbackError) {
        broken = rollbackError as Error;
      }
      throw sessionProofFailure(contextFailure ?? error, check);
    } finally {
      markTransactionOpen(runner, false);
      await releaseRunner(runner, broken);
    }
  }

  /**
   * One statement as its own unit of work, in a single round trip: the context and the statement
   * go out as one batch ending in one Sync, which PostgreSQL runs as one implicit transaction
   * (committed at the Sync; see `scoped-statement.ts`). For hot read paths and single-row writes;
   * anything with more than one statement uses {@link run}.
   */
  async statement<R extends QueryResultRow = QueryResultRow>(
    scope: TenantScope,
    sql: string,
    params: unknown[] = [],
    options: TenantStatementOptions = {},
  ): Promise<QueryResult<R>> {
    const check = this.dueSessionCheck(options.detached === true);
    const context = contextStatement(scope, options, check);
    if (this.cls.isActive() && this.cls.get(CURRENT_WORK)) throw new NestedTenantTransactionError();

    // Straight from the driver's pool: a query runner would add nothing but overhead here.
    const pool = (this.dataSource.driver as unknown as { master: Pool }).master;
    const client = await pool.connect();
    let broken: Error | undefined;
    // A connection that dies between our reads (the database restarting, the network) emits
    // 'error' on the client; unheard, that would end the process. Heard, it only retires the client.
    const onError = (error: Error) => {
      broken = error;
    };
    client.on('error', onError);
    try {
      const result = await runScopedStatement<R>(client, context, {
        text: sql,
        values: params,
        name: options.prepared ? preparedName(sql) : undefined,
      });
      if (check) check.proven = true;
      return result;
    } catch (error) {
      // A database error leaves the connection idle and clean; anything else may not have.
      if (!(error instanceof DatabaseError)) broken = error as Error;
      throw sessionProofFailure(error, check);
    } finally {
      client.removeListener('error', onError);
      client.release(broken);
    }
  }

  /**
   * Queries in `scope` that each run as their own {@link statement}: for a read that needs a
   * second, rare query (a key on a cache miss) without holding a transaction open for it.
   */
  queries(scope: TenantScope): TenantQueries {
    return { scope, query: (sql, values) => this.statement(scope, sql, values) };
  }

  /** The driver's pool of runtime connections. */
  private pool(): Pool {
    return (this.dataSource.driver as unknown as { master: Pool }).master;
  }

  /**
   * Defers this request's session check to its first unit of work: the statement that sets that
   * unit's context also proves the session (`app.prove_session`), and fails with a
   * {@link SessionProofError} before any row comes back if it cannot. For a caller the API
   * already knows (its principal cached with `proof`); a request whose work touches no table
   * must call {@link proveSession} before it answers. `null`: the session was checked in full
   * already, nothing is deferred (whatever state this request's context started with).
   */
  deferSessionCheck(proof: SessionProof | null): void {
    if (!proof && !this.cls.isActive()) return;
    this.cls.set(DEFERRED_SESSION_CHECK, proof ? { proof, proven: false } : undefined);
  }

  /** Whether this request's deferred session check has yet to be made. */
  sessionCheckPending(): boolean {
    return this.dueSessionCheck(false) !== undefined;
  }

  /** Makes this request's deferred session check now, if it is still pending (one round trip). */
  async proveSession(): Promise<void> {
    const check = this.dueSessionCheck(false);
    if (!check) return;
    if (check.failure) throw check.failure;
    // Inside the transaction that carries the check (a denial recorded mid-way), its answer is the proof.
    if (check.inFlight) await check.inFlight;
    if (check.proven) return;
    await this.statement({ tenantId: null, stores: [], userId: check.proof.userId }, 'select 1');
  }

  private dueSessionCheck(detached: boolean): DeferredSessionCheck | undefined {
    if (detached || !this.cls.isActive()) return undefined;
    const check = this.cls.get<DeferredSessionCheck | undefined>(DEFERRED_SESSION_CHECK);
    return check && !check.proven ? check : undefined;
  }

  /** The unit of work open in this async context; throws when there is none. */
  current(): TenantWork {
    const work = this.cls.isActive() ? this.cls.get<TenantWork | undefined>(CURRENT_WORK) : undefined;
    if (!work) throw new TenantTransactionRequiredError();
    return work;
  }
}

const preparedNames = new Map<string, string>();

/** A prepared statement's name, derived from its text: one text, one name, on every connection. */
function preparedName(sql: string): string {
  let name = preparedNames.get(sql);
  if (!name) {
    name = `fc_${createHash('sha256').update(sql).digest('hex').slice(0, 24)}`;
    preparedNames.set(sql, name);
  }
  return name;
}

/**
 * Tells TypeORM's runner that a transaction is open, so `manager.save()` joins it instead of
 * sending its own BEGIN/COMMIT (which would end ours early).
 */
function markTransactionOpen(runner: QueryRunner, open: boolean): void {
  const state = runner as unknown as { isTransactionActive: boolean; transactionDepth: number };
  state.isTransactionActive = open;
  state.transactionDepth = open ? 1 : 0;
}

/** Returns the connection to the pool; a connection in an unknown state is destroyed instead. */
async function releaseRunner(runner: QueryRunner, broken: Error | undefined): Promise<void> {
  const postgresRunner = runner as unknown as { releasePostgresConnection(err?: Error): Promise<void> };
  await postgresRunner.releasePostgresConnection(broken);
}
