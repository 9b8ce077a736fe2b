import {
  applyDecorators,
  CallHandler,
  ExecutionContext,
  Injectable,
  NestInterceptor,
  SetMetadata,
  UseInterceptors,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { permittedFieldsOf } from '@casl/ability/extra';
import { map, type Observable } from 'rxjs';
import type { AppAbility } from './ability';
import { ABILITY } from './access.guard';
import { type Subject, SUBJECT_FIELDS } from './role-matrix';

const REDACTS = Symbol('redacts');

/**
 * The fields of `subject` the ability may read: a rule without fields covers every field of the
 * subject; with `fields`, only those.
 */
export function readableFields(ability: AppAbility, subject: Subject): string[] {
  return permittedFieldsOf(ability, 'read', subject, {
    fieldsFrom: (rule) => (rule.fields ? [rule.fields].flat() : [...SUBJECT_FIELDS[subject]]),
  });
}

/**
 * Declares what a route answers with (a `subject` row, a list of them, or a page `{data, ...}`),
 * so that the response keeps only the fields the caller's ability may read — one place, on the
 * way out, never field-picking in controllers.
 */
export const Redact = (subject: Subject) =>
  applyDecorators(SetMetadata(REDACTS, subject), UseInterceptors(RedactionInterceptor));

@Injectable()
export class RedactionInterceptor implements NestInterceptor {
  constructor(private readonly reflector: Reflector) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const subject = this.reflector.get<Subject | undefined>(REDACTS, context.getHandler());
    const ability = context.switchToHttp().getRequest<{ [ABILITY]?: AppAbility }>()[ABILITY];
    if (!subject) return next.handle();
    if (!ability) throw new Error('@Redact needs AccessGuard on the route');
    const fields = new Set(readableFields(ability, subject));
    const keep = (row: unknown): unknown =>
      row && typeof row === 'object'
        ? Object.fromEntries(Object.entries(row).filter(([field]) => fields.has(field)))
        : row;
    return next.handle().pipe(
      map((body: unknown) => {
        if (Array.isArray(body)) return body.map(keep);
        if (body && typeof body === 'object' && Array.isArray((body as { data?: unknown }).data)) {
          return { ...body, data: (body as { data: unknown[] }).data.map(keep) };
        }
        return keep(body);
      }),
    );
  }
}
