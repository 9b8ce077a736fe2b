import type { NestFastifyApplication } from '@nestjs/platform-fastify';

/** The subset of JSON Schema the generated OpenAPI document uses for request bodies. */
export interface JsonSchema {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  example?: unknown;
  allOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  nullable?: boolean;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ApiParameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  schema: JsonSchema;
}

/** One operation of the live OpenAPI document, its references resolved. */
export interface ApiOperation {
  method: HttpMethod;
  /** The OpenAPI path template: `/v1/tenants/{tenantId}/stores`. */
  path: string;
  /** `METHOD /path/{param}`, for test names and figures. */
  key: string;
  pathParams: string[];
  queryParams: ApiParameter[];
  /** The JSON body's schema (references resolved), or null when the operation declares none. */
  jsonBody: JsonSchema | null;
  /** Whether the operation declares a bearer requirement. */
  authenticated: boolean;
}

interface OpenApiDocument {
  paths: Record<string, Record<string, RawOperation>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

interface RawOperation {
  parameters?: ApiParameter[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
  security?: Record<string, unknown>[];
}

const METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/**
 * Every operation of the document the app serves at /docs/json — read from the running app, not
 * from the committed copy, so a route added later (on any branch) is walked without a change here.
 */
export async function liveOperations(app: NestFastifyApplication): Promise<ApiOperation[]> {
  const response = await app.inject({ method: 'GET', url: '/docs/json' });
  if (response.statusCode !== 200) throw new Error(`/docs/json answered ${response.statusCode}`);
  return operationsOf(response.json<OpenApiDocument>());
}

export function operationsOf(document: OpenApiDocument): ApiOperation[] {
  const schemas = document.components?.schemas ?? {};
  const operations: ApiOperation[] = [];
  for (const [path, byMethod] of Object.entries(document.paths)) {
    for (const [name, raw] of Object.entries(byMethod)) {
      const method = name.toUpperCase() as HttpMethod;
      if (!METHODS.includes(method)) continue;
      const parameters = raw.parameters ?? [];
      const body = raw.requestBody?.content?.['application/json']?.schema;
      operations.push({
        method,
        path,
        key: `${method} ${path}`,
        pathParams: [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!),
        queryParams: parameters
          .filter((parameter) => parameter.in === 'query')
          .map((parameter) => ({ ...parameter, schema: resolve(parameter.schema ?? {}, schemas) })),
        jsonBody: body ? resolve(body, schemas) : null,
        authenticated: (raw.security ?? []).some((requirement) => 'bearer' in requirement),
      });
    }
  }
  return operations;
}

/** The schema with every `$ref` replaced by its target (the DTO graph has no cycles). */
function resolve(schema: JsonSchema, schemas: Record<string, JsonSchema>, depth = 0): JsonSchema {
  if (depth > 20) return {};
  if (schema.$ref) {
    const target = schemas[schema.$ref.replace('#/components/schemas/', '')];
    return target ? resolve(target, schemas, depth + 1) : {};
  }
  const resolved: JsonSchema = { ...schema };
  if (schema.properties) {
    resolved.properties = Object.fromEntries(
      Object.entries(schema.properties).map(([key, value]) => [key, resolve(value, schemas, depth + 1)]),
    );
  }
  if (schema.items) resolved.items = resolve(schema.items, schemas, depth + 1);
  for (const combinator of ['allOf', 'oneOf', 'anyOf'] as const) {
    const parts = schema[combinator];
    if (parts) resolved[combinator] = parts.map((part) => resolve(part, schemas, depth + 1));
  }
  return resolved;
}

/** The concrete URL of `operation` with `values` for its path parameters (URL-encoded). */
export function urlOf(
  operation: ApiOperation,
  values: Record<string, string>,
  query: [string, string][] = [],
): string {
  const path = operation.path.replace(/\{(\w+)\}/g, (_whole, name: string) =>
    percentEncoded(values[name] ?? ''),
  );
  if (query.length === 0) return path;
  return `${path}?${query.map(([key, value]) => `${percentEncoded(key)}=${percentEncoded(value)}`).join('&')}`;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * encodeURIComponent, except that a lone surrogate (which has no UTF-8 and makes
 * encodeURIComponent throw) is sent as the three bytes it would have in WTF-8: invalid UTF-8 in
 * the URL, exactly the kind of input the server must refuse cleanly.
 */
export function percentEncoded(text: string): string {
  const surrogates = text.match(LONE_SURROGATE) ?? [];
  return text
    .split(LONE_SURROGATE)
    .map((part, index) => {
      const unit = index > 0 ? surrogates[index - 1]!.charCodeAt(0) : null;
      const bytes =
        unit === null ? [] : [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)];
      return bytes.map((byte) => `%${byte.toString(16).toUpperCase()}`).join('') + encodeURIComponent(part);
    })
    .join('');
}
