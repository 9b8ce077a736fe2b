import { Body, Controller, Get, Module, Post } from '@nestjs/common';
import SwaggerParser from '@apidevtools/swagger-parser';
import { ApiExcludeController } from '@nestjs/swagger';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IsInt, IsOptional, IsString, MaxLength, Min } from 'class-validator';
import { Ctx, type RequestContext } from '@forecourt/core';
import { startTestApi, TestApi } from '@forecourt/test-harness';
import { WithoutPolicy } from '@forecourt/authz';

class ProbeDto {
  @IsString() @MaxLength(50) name!: string;
  @IsOptional() @IsInt() @Min(0) count?: number;
}

/** A route with a DTO, to drive the shared pipeline (validation, errors) end to end. */
@ApiExcludeController()
@WithoutPolicy('a test probe of the HTTP pipeline')
@Controller('v1/probe')
class ProbeController {
  @Post()
  echo(@Body() body: ProbeDto): ProbeDto {
    return body;
  }

  @Get('context')
  context(@Ctx() ctx: RequestContext): RequestContext {
    return ctx;
  }

  @Get('crash')
  crash(): never {
    throw new Error('connection to postgres://admin:hunter2@db failed');
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi({ env: { BODY_LIMIT_BYTES: '4096' }, extraImports: [ProbeModule] });
});

afterAll(async () => {
  await api.close();
});

const post = (payload: string, headers: Record<string, string> = {}) =>
  api.app.inject({
    method: 'POST',
    url: '/v1/probe',
    payload,
    headers: { 'content-type': 'application/json', ...headers },
  });

function expectProblem(response: Awaited<ReturnType<typeof post>>, status: number) {
  expect(response.statusCode).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = response.json<{
    type: string;
    title: string;
    status: number;
    detail: string;
    requestId: string;
  }>();
  expect(body.status).toBe(status);
  for (const member of [body.type, body.title, body.detail]) expect(typeof member).toBe('string');
  expect(body.requestId).toBe(response.headers['x-request-id']);
  return body;
}

describe('request ids', () => {
  it("echoes the caller's x-request-id", async () => {
    const response = await post('{"name":"ok"}', { 'x-request-id': 'caller-123' });
    expect(response.statusCode).toBe(201);
    expect(response.headers['x-request-id']).toBe('caller-123');
  });

  it('creates one when the caller sends none, or an unsafe one', async () => {
    for (const headers of [{}, { 'x-request-id': 'bad id with spaces' }]) {
      const response = await api.app.inject({ method: 'GET', url: '/health/live', headers });
      expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('hands the same id to the request context a service receives', async () => {
    const response = await api.app.inject({
      method: 'GET',
      url: '/v1/probe/context',
      headers: { 'x-request-id': 'ctx-42', 'user-agent': 'probe/1.0' },
    });
    expect(response.json()).toEqual({
      requestId: 'ctx-42',
      ip: '127.0.0.1',
      userAgent: 'probe/1.0',
      principal: null,
      tenant: null,
    });
  });
});

describe('errors as problem+json', () => {
  it('answers a malformed JSON body with 400', async () => {
    const body = expectProblem(await post('{"name": "unterminated', { 'x-request-id': 'malformed-1' }), 400);
    expect(body.requestId).toBe('malformed-1');
  });

  it('answers an unknown field with 400 naming it', async () => {
    const body = expectProblem(await post('{"name":"ok","isAdmin":true}'), 400);
    expect((body as unknown as { errors: { field: string; rule: string }[] }).errors).toEqual([
      expect.objectContaining({ field: 'isAdmin', rule: 'whitelistValidation' }),
    ]);
  });

  it('answers a wrong type and a missing field with 400 naming each', async () => {
    const body = expectProblem(await post('{"count":"seven"}'), 400) as unknown as {
      errors: { field: string }[];
    };
    expect(body.errors.map((error) => error.field).sort()).toEqual(['count', 'count', 'name', 'name']);
  });

  it('answers a body over the limit with 413', async () => {
    expectProblem(await post(JSON.stringify({ name: 'x'.repeat(8000) })), 413);
  });

  // The three below were found by the reliability suite (test/reliability).
  it('answers a body nested deeper than the limit with 400 naming the rule, not a stack overflow', async () => {
    const deep = `{"name":"x","count":${'['.repeat(40)}${']'.repeat(40)}}`;
    const body = expectProblem(await post(deep), 400) as unknown as { errors: { rule: string }[] };
    expect(body.errors).toEqual([expect.objectContaining({ rule: 'maxDepth' })]);
    expectProblem(await post(`${'['.repeat(2000)}${']'.repeat(2000)}`), 400);
  });

  it('answers U+0000 in a body value with 400 naming the field and rule', async () => {
    const body = expectProblem(await post('{"name":"nul\\u0000byte"}'), 400) as unknown as {
      errors: { field: string; rule: string }[];
    };
    expect(body.errors).toEqual([expect.objectContaining({ field: 'name', rule: 'noNulCharacter' })]);
  });

  it('answers a key shadowing a built-in member (toString, valueOf) with 400, not a conversion crash', async () => {
    const body = expectProblem(
      await post('{"name":"x","count":{"toString":"x","valueOf":1}}'),
      400,
    ) as unknown as {
      errors: { field: string; rule: string }[];
    };
    expect(body.errors).toEqual([expect.objectContaining({ rule: 'reservedKey' })]);
  });

  it('answers a path segment longer than the router takes with a 414 problem', async () => {
    const response = await api.app.inject({ method: 'GET', url: `/v1/tenants/${'x'.repeat(600)}/stores` });
    expect(expectProblem(response, 414).type).toBe('/problems/uri-too-long');
  });

  it('answers a path with a broken %-escape with a 400 problem', async () => {
    const response = await api.app.inject({ method: 'GET', url: '/v1/tenants/%E0%A4%A/stores' });
    expect(expectProblem(response, 400).type).toBe('/problems/bad-url');
  });

  it('answers an unknown route with 404', async () => {
    expectProblem(await api.app.inject({ method: 'GET', url: '/v1/nothing-here' }), 404);
  });

  it('answers an unexpected failure with a generic 500 that reveals nothing', async () => {
    const response = await api.app.inject({ method: 'GET', url: '/v1/probe/crash' });
    const body = expectProblem(response, 500);
    expect(body.detail).toBe('The server could not complete the request');
    expect(response.body).not.toMatch(/hunter2|postgres:\/\//);
  });
});

describe('operational endpoints', () => {
  it('reports live and ready (database reachable, migrations current, storage writable), degraded with no backup yet', async () => {
    expect((await api.app.inject({ method: 'GET', url: '/health/live' })).json()).toEqual({ status: 'ok' });
    const ready = await api.app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
    // A new deployment has no verified backup: serving, but an operator should know
    // (test/e2e/backup-api.e2e-spec.ts has ready and stale).
    expect(ready.json()).toEqual({
      status: 'degraded',
      checks: { database: 'ok', migrations: 'current', storage: 'ok', backup: 'none' },
    });
  });

  it('is not ready while object storage cannot take writes, and says so', async () => {
    const unready = await startTestApi({
      env: {
        S3_ENDPOINT: 'http://127.0.0.1:9',
        S3_BUCKET: 'media',
        S3_REGION: 'us-east-1',
        S3_ACCESS_KEY_ID: 'key',
        S3_SECRET_ACCESS_KEY: 'secret',
      },
    });
    try {
      const ready = await unready.app.inject({ method: 'GET', url: '/health/ready' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({
        detail: 'not ready (storage: unreachable)',
        checks: { database: 'ok', migrations: 'current', storage: 'unreachable' },
      });
      expect(ready.body).not.toContain('secret');
    } finally {
      await unready.close();
    }
  });

  it('serves a valid OpenAPI document at /docs/json and its UI at /docs', async () => {
    const document = (await api.app.inject({ method: 'GET', url: '/docs/json' })).json<
      Record<string, unknown>
    >();
    await expect(SwaggerParser.validate(structuredClone(document) as never)).resolves.toBeDefined();
    expect(Object.keys(document.paths as object)).toEqual(
      expect.arrayContaining(['/health/live', '/health/ready']),
    );
    const ui = await api.app.inject({ method: 'GET', url: '/docs' });
    expect(ui.statusCode).toBe(200);
    expect(ui.headers['content-type']).toMatch(/text\/html/);
  });

  it('matches the committed docs/openapi.json, so every API change shows in review', async () => {
    const document = (await api.app.inject({ method: 'GET', url: '/docs/json' })).json<object>();
    const committed = join(__dirname, '..', '..', 'docs', 'openapi.json');
    const current = `${JSON.stringify(document, null, 2)}\n`;
    // UPDATE_OPENAPI=1 npm test -- http-pipeline rewrites it after a deliberate change.
    if (process.env.UPDATE_OPENAPI === '1') writeFileSync(committed, current);
    expect(current).toBe(readFileSync(committed, 'utf8'));
  });

  it('exposes request latency histograms at /metrics', async () => {
    await api.app.inject({ method: 'GET', url: '/health/live' });
    const metrics = await api.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain('# TYPE http_request_duration_seconds histogram');
    expect(metrics.body).toMatch(
      /http_request_duration_seconds_bucket\{le="[0-9.]+",method="GET",route="\/health\/live",status_code="200"\} [1-9]/,
    );
  });

  it('publishes a security contact at /.well-known/security.txt', async () => {
    const response = await api.app.inject({ method: 'GET', url: '/.well-known/security.txt' });
    expect(response.statusCode).toBe(200);
    expect(response.body).toMatch(/^Contact: mailto:\S+$/m);
    expect(response.body).toMatch(/^Expires: \d{4}-\d\d-\d\dT/m);
  });

  it('sends security headers (Helmet, HSTS)', async () => {
    const response = await api.app.inject({ method: 'GET', url: '/health/live' });
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    expect(response.headers['x-frame-options']).toBeDefined();
  });
});
