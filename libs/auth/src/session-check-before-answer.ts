import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PROBLEM_CONTENT_TYPE, SessionProofError, SessionProofErrorCode, toProblem } from '@forecourt/core';
import { TenantTransaction } from '@forecourt/database';
import { SAFE_METHODS } from './browser-session';

/**
 * Sent on a read served again because its deferred session check found the permissions changed:
 * the second time, the session is checked before anything else. A client that sends it only
 * opts out of the deferred check.
 */
export const SESSION_RECHECK_HEADER = 'x-forecourt-session-recheck';
/** Headers of a response served again that belong to that inner exchange, not to this one. */
const EXCHANGE_HEADERS = new Set(['connection', 'content-length', 'date', 'keep-alive', 'transfer-encoding']);

/**
 * The last step of a deferred session check (`Sessions.authenticateDeferred`), as every answer
 * goes out (Fastify's `onSend`, errors included):
 *
 * - a request whose work never touched a table, or failed before it did (a refused input), or
 *   whose check has not been made for any other reason, makes it now, before it answers;
 * - a session that has ended replaces the answer with a 401 problem;
 * - permissions that changed after this instance cached them: the read stopped at its first
 *   statement, before it read or wrote anything, and is served once more from the start with the
 *   session checked first, so the caller gets the answer its current permissions give.
 *
 * A hook rather than a Nest interceptor: it costs a request with nothing pending one function
 * call, where an interceptor puts every route through an extra observable chain.
 */
@Injectable()
export class SessionCheckBeforeAnswer implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly transactions: TenantTransaction,
  ) {}

  onModuleInit(): void {
    const http = this.adapterHost.httpAdapter as HttpAdapterHost['httpAdapter'] | undefined;
    if (!http) return; // the CLI: no HTTP server
    http.getInstance<FastifyInstance>().addHook('onSend', (request, reply, payload, done) => {
      if (!this.transactions.sessionCheckPending()) return done(null, payload);
      this.transactions.proveSession().then(
        () => done(null, payload),
        (error: unknown) => {
          discard(payload);
          this.answerInstead(error, request, reply).then(
            (answer) => done(null, answer),
            (failure: Error) => done(failure),
          );
        },
      );
    });
  }

  private async answerInstead(
    error: unknown,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<Buffer | string> {
    const servable =
      error instanceof SessionProofError &&
      error.code === SessionProofErrorCode.Outdated &&
      SAFE_METHODS.has(request.method) &&
      request.headers[SESSION_RECHECK_HEADER] === undefined;
    if (!servable) {
      const problem = toProblem(error, request.id);
      void reply.code(problem.status).header('content-type', PROBLEM_CONTENT_TYPE);
      return JSON.stringify(problem);
    }
    // The request served again starts in a copy of this one's request-scoped state (the request
    // context's middleware inherits it); its session guard replaces the failed check.
    const again = await request.server.inject({
      method: request.method as 'GET' | 'HEAD' | 'OPTIONS',
      url: request.url,
      headers: { ...request.headers, [SESSION_RECHECK_HEADER]: '1' },
      remoteAddress: request.socket.remoteAddress,
    });
    void reply.code(again.statusCode);
    for (const name of reply.getHeaders ? Object.keys(reply.getHeaders()) : []) {
      if (!EXCHANGE_HEADERS.has(name)) reply.removeHeader(name);
    }
    for (const [name, value] of Object.entries(again.headers)) {
      if (value !== undefined && !EXCHANGE_HEADERS.has(name)) void reply.header(name, value);
    }
    return again.rawPayload;
  }
}

/** An answer that will not be sent: a stream is closed so its source is released. */
function discard(payload: unknown): void {
  if (payload && typeof payload === 'object' && 'destroy' in payload && typeof payload.destroy === 'function')
    (payload as { destroy(): void }).destroy();
}
