import { SetMetadata } from '@nestjs/common';
import { permittedFieldsOf } from '@casl/ability/extra';
import type { AppAbility } from './ability';
import { type Subject, SUBJECT_FIELDS } from './role-matrix';

const REDACTS = Symbol('redacts');

/** Worked out once per ability and subject: abilities are cached and never change. */
const readable = new WeakMap<AppAbility, Map<Subject, ReadonlySet<string>>>();

/**
 * The fields of `subject` the ability may read: a rule without fields covers every field of the
 * subject; with `fields`, only those.
 */
export function readableFields(ability: AppAbility, subject: Subject): ReadonlySet<string> {
  let bySubject = readable.get(ability);
  if (!bySubject) readable.set(ability, (bySubject = new Map<Subject, ReadonlySet<string>>()));
  let fields = bySubject.get(subject);
  if (!fields) {
    fields = new Set(
      permittedFieldsOf(ability, 'read', subject, {
        fieldsFrom: (rule) => (rule.fields ? [rule.fields].flat() : [...SUBJECT_FIELDS[subject]]),
      }),
    );
    bySubject.set(subject, fields);
  }
  return fields;
}

/**
 * Declares what a route answers with (a `subject` row, a list of them, or a page `{data, ...}`),
 * so that the response keeps only the fields the caller's ability may read — one place, on the
 * way out, never field-picking in controllers. `AccessGuard` hands the redaction to the request
 * pipeline, which applies it to the successful answer's body; the start-up check
 * (`PolicyCoverage`) refuses a `@Redact` route that does not declare `@Can`, so none goes out
 * unredacted for want of the guard.
 */
export const Redact = (subject: Subject) => SetMetadata(REDACTS, subject);

/** The subject a route handler's answer is redacted as, if it declares `@Redact`. */
export function redactedSubject(handler: object): Subject | undefined {
  return Reflect.getMetadata(REDACTS, handler) as Subject | undefined;
}

/** The body `ability` may see of an answer made of `subject` rows (see {@link Redact}). */
export function redaction(ability: AppAbility, subject: Subject): (body: unknown) => unknown {
  const fields = readableFields(ability, subject);
  const keep = (row: unknown): unknown =>
    row && typeof row === 'object'
      ? Object.fromEntries(Object.entries(row).filter(([field]) => fields.has(field)))
      : row;
  return (body) => {
    if (Array.isArray(body)) return body.map(keep);
    if (body && typeof body === 'object' && Array.isArray((body as { data?: unknown }).data)) {
      return { ...body, data: (body as { data: unknown[] }).data.map(keep) };
    }
    return keep(body);
  };
}
