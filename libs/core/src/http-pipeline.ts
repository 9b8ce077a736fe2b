import cookie from '@fastify/cookie';
import multipart from '@fastify/multipart';
import helmet from '@fastify/helmet';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { ANSWER_SHAPE, type AuthenticatedRequest } from './ctx.decorator';
import { newId } from './ids';
import { PROBLEM_CONTENT_TYPE } from './problem';
import { ProblemFilter } from './problem.filter';
import { REQUEST_ID_HEADER, requestIdFrom } from './request-context';
import { toProblem } from './to-problem';
import { createValidationPipe } from './validation';

/**
 * Fastify options every Forecourt HTTP server uses. The client IP is the socket's peer;
 * `X-Forwarded-For` counts only when that peer is one of `trustedProxies`.
 */
export function fastifyOptions(bodyLimitBytes: number, trustedProxies: string[] = []): FastifyServerOptions {
  return {
    bodyLimit: bodyLimitBytes,
    // Signed links carry their grant and MAC in one path segment (about 200 characters).
    routerOptions: { maxParamLength: 512 },
    trustProxy: trustedProxies.length > 0 ? trustedProxies : false,
    // The caller's request id is kept (when sane) and written back onto the raw headers, so every
    // layer that reads the header (the request context, the logger) sees the same id.
    genReqId: (raw: IncomingMessage) => {
      const id = requestIdFrom(raw.headers[REQUEST_ID_HEADER], newId);
      raw.headers[REQUEST_ID_HEADER] = id;
      return id;
    },
    requestIdHeader: false,
    logger: false,
    // Errors the router raises before any hook or Nest filter runs (a path segment over
    // maxParamLength, a malformed %-escape): problem+json like every other refusal, not Fastify's
    // own JSON.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const body = toProblem(error, request.id);
      void reply
        .status(body.status)
        .header(REQUEST_ID_HEADER, request.id)
        .header('content-type', PROBLEM_CONTENT_TYPE)
        .send(body);
    },
  };
}

/**
 * The request pipeline shared by the API and the end-to-end tests: request id echo, security
 * headers, validation, the answer's shape (redaction), and problem+json for every error. Nest's
 * Fastify adapter routes body parsing errors and unknown routes through the global filter too.
 */
export async function configureHttpPipeline(app: NestFastifyApplication): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', async (request, reply) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
  });
  // A Fastify hook rather than a Nest interceptor: an interceptor costs every request two
  // AsyncResource bindings and an rxjs pipeline (docs/performance.md). Problem documents (4xx, 5xx)
  // are the app's own and keep their shape.
  fastify.addHook('preSerialization', (request: AuthenticatedRequest, reply, payload, done) => {
    const shape = request[ANSWER_SHAPE];
    if (!shape || reply.statusCode >= 300) {
      done(null, payload);
      return;
    }
    try {
      done(null, shape(payload));
    } catch (error) {
      done(error as Error);
    }
  });
  await app.register(cookie);
  // Uploads are read as streams by the routes that take them (`request.file()`), each with its own
  // size limit; one file per request, no other parts.
  await app.register(multipart, { limits: { files: 1, fields: 0, parts: 1, headerPairs: 50 } });
  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        // The OpenAPI UI at /docs boots with an inline script and inline styles.
        scriptSrc: ["'self'", "'unsafe-inline'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
      },
    },
    hsts: { maxAge: 31_536_000, includeSubDomains: true },
  });

  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new ProblemFilter());
}
