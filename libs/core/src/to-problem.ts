import { HttpException } from '@nestjs/common';
import { isDatabaseUnavailable } from './database-unavailable';
import { DomainError } from './domain-error';
import { FieldError, Problem, problem } from './problem';

/** Thrown by the global ValidationPipe: carries one entry per failed field and rule. */
export class ValidationFailedException extends HttpException {
  constructor(readonly fieldErrors: FieldError[]) {
    super('The request body or parameters are invalid', 400);
  }
}

interface FastifyLikeError {
  statusCode?: number;
  code?: string;
}

function isFastifyError(error: unknown): error is Error & FastifyLikeError {
  return error instanceof Error && typeof (error as FastifyLikeError).code === 'string';
}

const FASTIFY_PROBLEMS: Record<string, { status: number; slug: string; detail: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: {
    status: 413,
    slug: 'body-too-large',
    detail: 'The request body is larger than the server accepts',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    slug: 'unsupported-media-type',
    detail: 'The request content type is not supported',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    status: 400,
    slug: 'malformed-body',
    detail: 'The request says it is JSON but its body is empty',
  },
  FST_ERR_CTP_INVALID_JSON_BODY: {
    status: 400,
    slug: 'malformed-body',
    detail: 'The request body is not valid JSON',
  },
  FST_ERR_MAX_PARAM_LENGTH: {
    status: 414,
    slug: 'uri-too-long',
    detail: 'A path segment is longer than the server accepts',
  },
  FST_ERR_BAD_URL: {
    status: 400,
    slug: 'bad-url',
    detail: 'The request path is not a valid URL',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    status: 400,
    slug: 'malformed-body',
    detail: 'The request body does not match its Content-Length',
  },
};

function slugForStatus(status: number): string {
  switch (status) {
    case 401:
      return 'unauthenticated';
    case 403:
      return 'forbidden';
    case 404:
      return 'not-found';
    case 405:
      return 'method-not-allowed';
    case 409:
      return 'conflict';
    case 429:
      return 'rate-limited';
    default:
      return status >= 500 ? 'internal' : 'bad-request';
  }
}

/**
 * Turns anything thrown while serving a request into a problem document. Unknown errors become a
 * generic 500 whose detail reveals nothing; the caller logs the original.
 */
/** The SQLSTATE of the database's plan-limit refusal (`app.enforce_plan_limits`). */
const PLAN_LIMIT_SQLSTATE = 'FC402';
/** PostgreSQL's refusals of text it cannot hold: 22021 (U+0000 in text), 22P05 (\u0000 in jsonb). */
const UNSTORABLE_TEXT_SQLSTATES = ['22021', '22P05'];

export function toProblem(error: unknown, requestId: string): Problem {
  if (error instanceof ValidationFailedException) {
    return problem(400, 'validation', error.message, requestId, error.fieldErrors);
  }
  if (error instanceof DomainError) {
    const domainError = error as DomainError<string>;
    return problem(
      domainError.status,
      domainError.code.replace(/[._]/g, '-'),
      domainError.message,
      requestId,
    );
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const detail = status >= 500 ? 'The server could not complete the request' : error.message;
    return problem(status, slugForStatus(status), detail, requestId);
  }
  if (error instanceof Error && (error as { code?: unknown }).code === PLAN_LIMIT_SQLSTATE) {
    // Raised by the database for a row beyond the tenant's plan (migration plan-limits), whichever
    // code path made it; its message is Forecourt's own, with numbers only.
    return problem(402, 'plan-limit-reached', error.message, requestId);
  }
  if (isDatabaseUnavailable(error)) {
    return problem(503, 'database-unavailable', 'The database is unavailable; try again shortly', requestId);
  }
  if (
    error instanceof Error &&
    UNSTORABLE_TEXT_SQLSTATES.includes(String((error as { code?: unknown }).code))
  ) {
    // Only a caller's input carries such text (U+0000, a lone surrogate's replacement) this far:
    // the safety net behind the validation pipe's check, for input that reaches SQL another way.
    return problem(400, 'unstorable-text', 'The request contains text that cannot be stored', requestId);
  }
  if (isFastifyError(error) && error.code !== undefined) {
    const known = FASTIFY_PROBLEMS[error.code];
    if (known) return problem(known.status, known.slug, known.detail, requestId);
    const status = error.statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return problem(status, slugForStatus(status), 'The request could not be read', requestId);
    }
  }
  if (error instanceof SyntaxError) {
    return problem(400, 'malformed-body', 'The request body is not valid JSON', requestId);
  }
  return problem(500, 'internal', 'The server could not complete the request', requestId);
}
