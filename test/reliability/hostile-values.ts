import fc from 'fast-check';
import type { ApiOperation, JsonSchema } from '@forecourt/test-harness';
import { validBody } from './valid-values';

/** Strings that have broken parsers, queries and file systems somewhere before. */
const NASTY_STRINGS = [
  "' OR '1'='1",
  "'; drop table tenants; --",
  '1; select pg_sleep(5)--',
  "' union select id, email from users --",
  '$where',
  '{"$gt": ""}',
  '{"$ne": null}',
  '../../../../etc/passwd',
  '..%2f..%2f..%2fetc%2fpasswd',
  '..\\..\\windows\\win.ini',
  '/dev/zero',
  '%00',
  '\u0000',
  'nul\u0000byte',
  '\uD800',
  '\uDFFF lone low surrogate',
  '\u202Eevil.exe\u202C',
  '\u200B\u200C\u200D\uFEFF',
  'Z̴̡̛̩̬̍̈́a̸̢̜̓l̵̨̛̗g̵̣̈́o̸̭̽',
  '👩‍👩‍👧‍👦🏳️‍🌈',
  '𝕿𝖊𝖘𝖙',
  '\r\nSet-Cookie: injected=1',
  '<script>alert(1)</script>',
  '${7*7}{{7*7}}',
  '__proto__',
  'constructor',
  'prototype',
  'NaN',
  'Infinity',
  '-0',
  '1e309',
  '9223372036854775808',
  'true',
  'null',
  '',
  ' ',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '0190a000-0000-7000-8000-00000000000g',
];

export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 64 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 64 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 20_000 }).map((n) => 'x'.repeat(n)) },
  { weight: 1, arbitrary: fc.constantFrom(...NASTY_STRINGS).map((s) => s.repeat(500)) },
);

/** Objects that try to pollute prototypes or smuggle query operators. */
export const pollutingObject: fc.Arbitrary<unknown> = fc.constantFrom<unknown>(
  JSON.parse('{"__proto__": {"isAdmin": true, "polluted": "yes"}}'),
  JSON.parse('{"constructor": {"prototype": {"polluted": "yes"}}}'),
  { $gt: '' },
  { $ne: null },
  { $where: 'sleep(1000)' },
  { toString: 'not a function', valueOf: 1 },
);

/** A value of any JSON type but, most of the time, not the one asked for. */
export const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  nastyString,
  pollutingObject,
  fc.constantFrom<unknown>(null, true, false, 0, -1, -0, 1e308, -1e308, 2 ** 53 + 1, 0.1, [], {}, [null]),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.jsonValue({ maxDepth: 3 }),
  fc.array(nastyString, { maxLength: 5 }),
);

/** `depth` levels of arrays or objects: a stack-depth attack on the parser and validator. */
export function deeplyNested(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array'
    ? `${'['.repeat(depth)}${']'.repeat(depth)}`
    : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** A request body as bytes with the headers it is sent with. */
export interface RawBody {
  label: string;
  payload: string | Buffer;
  headers: Record<string, string>;
}

const json = (label: string, value: unknown): RawBody => ({
  label,
  payload: JSON.stringify(value) ?? 'null',
  headers: { 'content-type': 'application/json' },
});

/** The valid body with some fields replaced by wrong values, some dropped and some added. */
function mutatedBody(schema: JsonSchema | null): fc.Arbitrary<RawBody> {
  const base = (schema ? validBody(schema) : {}) as Record<string, unknown>;
  const keys = Object.keys(schema?.properties ?? {});
  return fc
    .record({
      replaced: fc.dictionary(keys.length ? fc.constantFrom(...keys) : fc.constant('x'), wrongValue, {
        maxKeys: 3,
      }),
      dropped: fc.subarray(keys),
      extra: fc.dictionary(
        fc.oneof(
          fc.constantFrom('__proto__', 'constructor', 'prototype', 'tenantId', 'id', '$where'),
          fc.string(),
        ),
        wrongValue,
        { maxKeys: 2 },
      ),
    })
    .map(({ replaced, dropped, extra }) => {
      const body: Record<string, unknown> = { ...base };
      for (const key of dropped) delete body[key];
      // Built as text so a `__proto__` key is sent as an own key, as an attacker would send it.
      const entries = [...Object.entries({ ...body, ...replaced }), ...Object.entries(extra)];
      const text = `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value) ?? 'null'}`).join(',')}}`;
      return { label: 'mutated body', payload: text, headers: { 'content-type': 'application/json' } };
    });
}

/** Bytes that are not the JSON they claim to be, or JSON that is not what they claim. */
const malformedBody: fc.Arbitrary<RawBody> = fc.oneof(
  fc.constantFrom<RawBody>(
    { label: 'truncated JSON', payload: '{"name": "x"', headers: { 'content-type': 'application/json' } },
    { label: 'trailing garbage', payload: '{"a":1}}}', headers: { 'content-type': 'application/json' } },
    { label: 'single quotes', payload: "{'a': 1}", headers: { 'content-type': 'application/json' } },
    { label: 'empty JSON body', payload: '', headers: { 'content-type': 'application/json' } },
    { label: 'BOM then JSON', payload: '\uFEFF{"a":1}', headers: { 'content-type': 'application/json' } },
    {
      label: 'JSON charset lie',
      payload: '{"a":1}',
      headers: { 'content-type': 'application/json; charset=utf-16' },
    },
    { label: 'text/plain', payload: 'name=x', headers: { 'content-type': 'text/plain' } },
    { label: 'xml', payload: '<a>1</a>', headers: { 'content-type': 'application/xml' } },
    {
      label: 'form',
      payload: 'a=1&__proto__[x]=1',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    },
    { label: 'no content type', payload: '{"a":1}', headers: {} },
    { label: 'bogus content type', payload: '{"a":1}', headers: { 'content-type': '\u0000/\u0000' } },
    {
      label: 'multipart without boundary',
      payload: '--x\r\n\r\n',
      headers: { 'content-type': 'multipart/form-data' },
    },
  ),
  fc.constantFrom<'array' | 'object'>('array', 'object').map((kind): RawBody => ({
    label: `nested ${kind} 10000 deep`,
    payload: deeplyNested(10_000, kind),
    headers: { 'content-type': 'application/json' },
  })),
  fc.constantFrom(64, 512).map((depth): RawBody => ({
    label: `nested objects ${depth} deep`,
    payload: deeplyNested(depth, 'object'),
    headers: { 'content-type': 'application/json' },
  })),
  fc.constant<RawBody>({
    label: 'oversized body (2 MiB)',
    payload: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }),
    headers: { 'content-type': 'application/json' },
  }),
  fc.jsonValue({ maxDepth: 4 }).map((value) => json('random JSON', value)),
  fc.uint8Array({ maxLength: 256 }).map((bytes): RawBody => ({
    label: 'random bytes as JSON',
    payload: Buffer.from(bytes),
    headers: { 'content-type': 'application/json' },
  })),
);

const TRAVERSAL_FILE_NAMES = [
  '../../../../etc/passwd',
  '..\\..\\..\\boot.ini',
  '/etc/shadow',
  'C:\\Windows\\System32\\drivers\\etc\\hosts',
  'photo.png\u0000.exe',
  '....//....//etc/passwd',
  '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '.',
  '..',
  '',
  'a'.repeat(5000),
  'ph"oto.png',
  'photo\r\nContent-Type: text/html.png',
  '\u202Egnp.exe',
];

/** A multipart body: hostile file names, wrong fields, lying or broken framing. */
const multipartBody: fc.Arbitrary<RawBody> = fc
  .record({
    fileName: fc.oneof(fc.constantFrom(...TRAVERSAL_FILE_NAMES), nastyString),
    field: fc.constantFrom('file', 'file', 'other', '__proto__', ''),
    contentType: fc.constantFrom('image/png', 'application/pdf', 'text/html', 'application/x-msdownload', ''),
    bytes: fc.oneof(
      fc.constant(
        Buffer.from(
          'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
          'base64',
        ),
      ),
      fc.constant(Buffer.from('%PDF-1.7\n%%EOF\n')),
      fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.from(bytes)),
    ),
    framing: fc.constantFrom(
      'intact',
      'intact',
      'truncated',
      'no closing boundary',
      'two files',
      'wrong boundary',
    ),
  })
  .map(({ fileName, field, contentType, bytes, framing }): RawBody => {
    const boundary = 'forecourtReliabilityBoundary';
    const part = (name: string) =>
      Buffer.concat([
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${name}"\r\n` +
            (contentType ? `Content-Type: ${contentType}\r\n` : '') +
            '\r\n',
        ),
        bytes,
        Buffer.from('\r\n'),
      ]);
    const end = Buffer.from(`--${boundary}--\r\n`);
    const framed: Record<typeof framing, Buffer> = {
      intact: Buffer.concat([part(fileName), end]),
      truncated: part(fileName).subarray(0, 40),
      'no closing boundary': part(fileName),
      'two files': Buffer.concat([part(fileName), part(`${fileName}.2`), end]),
      'wrong boundary': Buffer.concat([part(fileName), end]),
    };
    const declared = framing === 'wrong boundary' ? 'someOtherBoundary' : boundary;
    return {
      label: `multipart (${framing}, field "${field}")`,
      payload: framed[framing],
      headers: { 'content-type': `multipart/form-data; boundary=${declared}` },
    };
  });

/** Every hostile body for `operation`: multipart too where it takes no JSON (the upload routes). */
export function hostileBody(operation: ApiOperation): fc.Arbitrary<RawBody | null> {
  const takesBody = operation.method !== 'GET' && operation.method !== 'DELETE';
  if (!takesBody)
    return fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: malformedBody });
  if (operation.jsonBody) {
    return fc.oneof(
      { weight: 3, arbitrary: mutatedBody(operation.jsonBody) },
      { weight: 2, arbitrary: malformedBody },
    );
  }
  return fc.oneof(
    { weight: 2, arbitrary: multipartBody },
    { weight: 1, arbitrary: malformedBody },
    { weight: 1, arbitrary: mutatedBody(null) },
  );
}

/** Query pairs: the declared parameters with wrong values, repeated keys and polluting keys. */
export function hostileQuery(operation: ApiOperation): fc.Arbitrary<[string, string][]> {
  const declared = operation.queryParams.map((parameter) => parameter.name);
  const asText = wrongValue.map((value) =>
    typeof value === 'string' ? value : (JSON.stringify(value) ?? ''),
  );
  const key = fc.oneof(
    { weight: 3, arbitrary: declared.length ? fc.constantFrom(...declared) : fc.constant('limit') },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '__proto__[polluted]',
        'constructor[prototype][polluted]',
        'a[b][c][d]',
        'limit[]',
      ),
    },
  );
  return fc.array(fc.tuple(key, asText), { maxLength: 4 });
}

/** A path parameter: a real id most of the time (to pass the outer checks), else garbage. */
export function hostilePathValue(realId: string | undefined): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant(realId ?? '00000000-0000-7000-8000-000000000000') },
    { weight: 1, arbitrary: fc.uuid() },
    { weight: 2, arbitrary: nastyString },
  );
}
