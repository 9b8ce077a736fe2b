import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { FieldError } from './problem';
import { routeIdsOf } from './route-ids';
import { ValidationFailedException } from './to-problem';

function flatten(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.entries(error.constraints ?? {}).map(([rule, message]) => ({
      field,
      rule,
      message,
    }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/** How deep a request's JSON may nest: far beyond any DTO, far below what recursion survives. */
export const MAX_INPUT_DEPTH = 32;

/**
 * The first thing in a request input that no DTO could take, as a field error, or null; `path`
 * names the input itself (a route or query parameter). One walk, without recursion:
 * - nesting deeper than `limit` (class-transformer and class-validator recurse, so a body some
 *   thousands of levels deep overflowed the stack: a 500); the walk stops there, so a hostile
 *   body costs no more than `limit` levels of work;
 * - U+0000 in a string or a key (PostgreSQL cannot store it in text: its `invalid byte sequence`
 *   was a 500);
 * - a key that shadows a member of Object.prototype (`toString`, `valueOf`, ...): JSON cannot
 *   carry functions, so such a key only ever holds data where code expects a method
 *   (class-transformer's `Number(value)` on `{"toString": "x", "valueOf": 1}` threw "Cannot
 *   convert object to primitive value", a 500).
 */
export function inputFault(value: unknown, path = '', limit = MAX_INPUT_DEPTH): FieldError | null {
  const pending: [unknown, string, number][] = [[value, path, 0]];
  while (pending.length > 0) {
    const [current, at, depth] = pending.pop()!;
    if (typeof current === 'string') {
      if (current.includes('\u0000')) return nulCharacter(at);
      continue;
    }
    if (current === null || typeof current !== 'object') continue;
    if (depth >= limit) {
      return {
        field: path,
        rule: 'maxDepth',
        message: `${path || 'the input'} must not nest deeper than ${limit} levels`,
      };
    }
    for (const [key, child] of Object.entries(current)) {
      const childPath = at ? `${at}.${key}` : key;
      if (key.includes('\u0000')) return nulCharacter(childPath);
      if (key in Object.prototype) {
        return {
          field: childPath,
          rule: 'reservedKey',
          message: `${childPath} is the name of a built-in member and cannot be a field`,
        };
      }
      pending.push([child, childPath, depth + 1]);
    }
  }
  return null;
}

function nulCharacter(at: string): FieldError {
  return { field: at, rule: 'noNulCharacter', message: `${at || 'the input'} must not contain U+0000` };
}

/**
 * Refuses what {@link inputFault} finds before class-transformer and class-validator see it, and
 * checks `RouteIds` parameters (route-ids.ts) itself. Only the request's own inputs are looked
 * at: a custom parameter (the ability, the request context) is the app's own object, and walking
 * it cost every request tens of microseconds.
 */
class DepthLimitedValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type !== 'custom') {
      const fault = inputFault(value, metadata.type === 'body' ? '' : (metadata.data ?? ''));
      if (fault) throw new ValidationFailedException([{ ...fault, field: fault.field || metadata.type }]);
    }
    const ids = metadata.type === 'param' ? routeIdsOf(metadata.metatype, value) : null;
    if (ids) {
      if (ids.errors.length > 0) throw new ValidationFailedException(ids.errors);
      return ids.value;
    }
    return super.transform(value, metadata) as Promise<unknown>;
  }
}

/**
 * The one validation pipe: unknown properties are refused (not silently dropped), values are
 * transformed to the DTO's types, and a failure names every field and rule.
 */
export function createValidationPipe(): ValidationPipe {
  return new DepthLimitedValidationPipe({
    transform: true,
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => new ValidationFailedException(flatten(errors)),
  });
}
