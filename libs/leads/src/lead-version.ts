import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { type Observable, tap } from 'rxjs';
import { LeadsError, LeadsErrorCode } from './leads-error';

/** A lead's entity tag: its version, quoted. */
export const entityTagOf = (version: number): string => `"${version}"`;

/**
 * The version an `If-Match` header names: `"3"` (or the weak `W/"3"`, which names the same
 * version here), or null when there is none or it is `*` (any version). Anything else is a 400:
 * a precondition the client meant but we cannot read must not be ignored.
 */
export function versionFromIfMatch(header: string | undefined): number | null {
  if (header === undefined || header.trim() === '*') return null;
  const match = /^\s*(?:W\/)?"([1-9]\d{0,8})"\s*$/.exec(header);
  if (!match) {
    throw new LeadsError(
      LeadsErrorCode.BadPrecondition,
      'If-Match: must be the ETag of the lead as read ("<version>"), or *',
    );
  }
  return Number(match[1]);
}

/** Sends a lead's version as its ETag, so a client can make its next change conditional on it. */
@Injectable()
export class LeadEntityTag implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler<{ version?: unknown }>): Observable<unknown> {
    return next.handle().pipe(
      tap((lead) => {
        if (typeof lead?.version === 'number') {
          context.switchToHttp().getResponse<FastifyReply>().header('etag', entityTagOf(lead.version));
        }
      }),
    );
  }
}
