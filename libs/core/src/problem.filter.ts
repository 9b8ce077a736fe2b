import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from './domain-error';
import { PROBLEM_CONTENT_TYPE } from './problem';
import { SESSION_RECHECK_HEADER, SessionProofError, SessionProofErrorCode } from './session-proof-error';
import { toProblem } from './to-problem';

/** Headers of a response served again that belong to that inner exchange, not to this one. */
const EXCHANGE_HEADERS = new Set(['connection', 'content-length', 'date', 'keep-alive', 'transfer-encoding']);

/** Sends every error as RFC 9457 problem+json, with the request id. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemFilter');

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    if (servedAgainWhenOutdated(error, request)) {
      void this.serveAgain(request, reply);
      return;
    }
    this.sendProblem(error, request, reply);
  }

  private sendProblem(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
    const body = toProblem(error, request.id);
    if (body.status >= 500) {
      // The error object goes to the (redacting) logger only; the client sees a generic detail.
      this.logger.error({ err: error, requestId: request.id }, 'request failed');
    }
    if (error instanceof DomainError) void reply.headers(error.headers);
    void reply.status(body.status).header('content-type', PROBLEM_CONTENT_TYPE).send(body);
  }

  /**
   * A read whose caller's permissions changed after this instance cached them stopped at its
   * first statement, before it read or wrote anything; it is served once more from the start,
   * with the session checked first, so the caller gets the answer its current permissions give.
   */
  private async serveAgain(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    try {
      // The request served again starts in a copy of this one's request-scoped state (the
      // request context's middleware inherits it); its session guard replaces the pending check.
      const again = await request.server.inject({
        method: request.method as 'GET' | 'HEAD' | 'OPTIONS',
        url: request.url,
        headers: { ...request.headers, [SESSION_RECHECK_HEADER]: '1' },
        remoteAddress: request.socket.remoteAddress,
      });
      for (const [name, value] of Object.entries(again.headers)) {
        if (value !== undefined && !EXCHANGE_HEADERS.has(name)) void reply.header(name, value);
      }
      void reply.status(again.statusCode).send(again.rawPayload);
    } catch (error) {
      this.sendProblem(error, request, reply);
    }
  }
}

/** Only a read can be served again (it stopped before its first statement did anything), and only once. */
function servedAgainWhenOutdated(error: unknown, request: FastifyRequest): boolean {
  return (
    error instanceof SessionProofError &&
    error.code === SessionProofErrorCode.Outdated &&
    ['GET', 'HEAD', 'OPTIONS'].includes(request.method) &&
    request.headers[SESSION_RECHECK_HEADER] === undefined
  );
}
