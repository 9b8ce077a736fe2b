import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { FieldError } from './problem';
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
 * How deeply `value` nests (a scalar: 0), without recursion, stopping once past `limit` so a
 * hostile body costs no more than `limit` levels of work.
 */
export function nestingDepth(value: unknown, limit = MAX_INPUT_DEPTH): number {
  let deepest = 0;
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!;
    if (current === null || typeof current !== 'object') continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest > limit) return deepest;
    for (const child of Object.values(current)) pending.push([child, depth + 1]);
  }
  return deepest;
}

/**
 * The path (`a.b.0`) of the first string in `value` — key or value — holding U+0000, or null.
 * PostgreSQL cannot store that character in text (its `invalid byte sequence` was a 500).
 */
export function nulCharacterAt(value: unknown, path = ''): string | null {
  const pending: [unknown, string][] = [[value, path]];
  while (pending.length > 0) {
    const [current, at] = pending.pop()!;
    if (typeof current === 'string') {
      if (current.includes('\u0000')) return at;
      continue;
    }
    if (current === null || typeof current !== 'object') continue;
    for (const [key, child] of Object.entries(current)) {
      const childPath = at ? `${at}.${key}` : key;
      if (key.includes('\u0000')) return childPath;
      pending.push([child, childPath]);
    }
  }
  return null;
}

/**
 * The path of the first key in `value` that shadows a member of Object.prototype (`toString`,
 * `valueOf`, `hasOwnProperty`, ...), or null. JSON cannot carry functions, so such a key only ever
 * holds data where code expects a method: class-transformer's `Number(value)` on
 * `{"toString": "x", "valueOf": 1}` threw "Cannot convert object to primitive value" (a 500).
 */
export function reservedKeyAt(value: unknown, path = ''): string | null {
  const pending: [unknown, string][] = [[value, path]];
  while (pending.length > 0) {
    const [current, at] = pending.pop()!;
    if (current === null || typeof current !== 'object') continue;
    for (const [key, child] of Object.entries(current)) {
      const childPath = at ? `${at}.${key}` : key;
      if (key in Object.prototype) return childPath;
      pending.push([child, childPath]);
    }
  }
  return null;
}

/**
 * class-transformer and class-validator walk a value recursively: a body nested some thousands of
 * levels deep overflows the stack (a 500). It is refused as a validation failure first, as is a
 * string with U+0000, which no text column can hold.
 */
class DepthLimitedValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (nestingDepth(value) > MAX_INPUT_DEPTH) {
      throw new ValidationFailedException([
        {
          field: metadata.data ?? metadata.type,
          rule: 'maxDepth',
          message: `${metadata.type} must not nest deeper than ${MAX_INPUT_DEPTH} levels`,
        },
      ]);
    }
    const nulAt = nulCharacterAt(value, metadata.type === 'body' ? '' : (metadata.data ?? ''));
    if (nulAt !== null) {
      throw new ValidationFailedException([
        {
          field: nulAt || metadata.type,
          rule: 'noNulCharacter',
          message: `${nulAt || metadata.type} must not contain U+0000`,
        },
      ]);
    }
    const reservedAt = reservedKeyAt(value, metadata.type === 'body' ? '' : (metadata.data ?? ''));
    if (reservedAt !== null) {
      throw new ValidationFailedException([
        {
          field: reservedAt,
          rule: 'reservedKey',
          message: `${reservedAt} is the name of a built-in member and cannot be a field`,
        },
      ]);
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
