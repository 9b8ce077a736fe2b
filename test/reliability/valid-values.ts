import type { JsonSchema } from '@forecourt/test-harness';

/** The id a body field names (`storeId`, `assignedUserId`, `storeIds`), or undefined. */
export type IdLookup = (field: string) => string | undefined;

/** Whether a body field or parameter holds the id of a row (or ids of rows). */
export function isIdField(field: string): boolean {
  return /(^id$|Id$|Ids$)/.test(field);
}

/**
 * A body the schema would accept, as far as a schema can say: required fields plus every id
 * field, ids taken from `idFor` (the rows a test points the request at). Values the schema cannot
 * express (a VIN's check digit, a future date) may still be refused; the sweeps only need the
 * request to reach the code that looks the ids up.
 */
export function validBody(schema: JsonSchema, idFor: IdLookup = () => undefined): unknown {
  return valueFor('', schema, idFor);
}

function valueFor(field: string, schema: JsonSchema, idFor: IdLookup): unknown {
  if (schema.allOf?.length) return valueFor(field, Object.assign({}, ...schema.allOf) as JsonSchema, idFor);
  const alternative = schema.oneOf?.[0] ?? schema.anyOf?.[0];
  if (alternative) return valueFor(field, alternative, idFor);
  if (schema.enum?.length) return schema.enum[0];
  if (schema.example !== undefined) return schema.example;
  switch (schema.type) {
    case 'object': {
      const properties = schema.properties ?? {};
      const required = new Set(schema.required ?? []);
      return Object.fromEntries(
        Object.entries(properties)
          .filter(([name]) => required.has(name) || isIdField(name))
          .map(([name, property]) => [name, valueFor(name, property, idFor)]),
      );
    }
    case 'array':
      return schema.items ? [valueFor(field.replace(/s$/, ''), schema.items, idFor)] : [];
    case 'integer':
    case 'number':
      return Math.max(schema.minimum ?? 1, Math.min(schema.maximum ?? 1, 1));
    case 'boolean':
      return false;
    case undefined:
    default:
      return stringFor(field, schema, idFor);
  }
}

function stringFor(field: string, schema: JsonSchema, idFor: IdLookup): string {
  if (isIdField(field)) return idFor(field) ?? '00000000-0000-7000-8000-000000000000';
  if (schema.format === 'email' || /email/i.test(field)) return 'someone@reliability.test';
  if (schema.format === 'date-time' || /At$/.test(field)) return '2032-01-01T10:00:00.000Z';
  if (/currency/i.test(field)) return 'EUR';
  if (/url/i.test(field)) return 'https://example.test/x';
  const text = `reliability ${field}`;
  return schema.minLength && text.length < schema.minLength ? text.padEnd(schema.minLength, 'x') : text;
}
