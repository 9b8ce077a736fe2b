import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DATABASE_RETRY_AFTER_SECONDS } from './database-unavailable';
import { DomainError } from './domain-error';
import { PROBLEM_CONTENT_TYPE } from './problem';
import { toProblem } from './to-problem';

/** Sends every error as RFC 9457 problem+json, with the request id. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemFilter');

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const body = toProblem(error, request.id);
    if (body.type === '/problems/database-unavailable') {
      // One line per request while the database is away, not a stack each (the health check tells the rest).
      this.logger.warn({ requestId: request.id }, 'database unavailable');
    } else if (body.status >= 500) {
      // The error object goes to the (redacting) logger only; the client sees a generic detail.
      this.logger.error({ err: error, requestId: request.id }, 'request failed');
    }
    if (error instanceof DomainError) void reply.headers(error.headers);
    if (body.type === '/problems/database-unavailable') {
      void reply.header('retry-after', String(DATABASE_RETRY_AFTER_SECONDS));
    }
    void reply.status(body.status).header('content-type', PROBLEM_CONTENT_TYPE).send(body);
  }
}
