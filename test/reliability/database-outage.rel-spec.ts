import {
  clusterInfo,
  createGroup,
  type Group,
  startTestApi,
  TcpProxy,
  temporaryMailDir,
  type TestApi,
} from '@forecourt/test-harness';
import { recordFigures, reliabilityMode } from './suite';
import { Pool } from 'pg';

/**
 * The database away for 10 s under a steady mix of reads and writes (the API's connections go
 * through a proxy the test cuts; the server itself keeps running for the other test files): every
 * answer meanwhile is a 503 problem+json promptly, never a hang or a 500; readiness goes red; and
 * when the database is back everything works again by itself, in the same process.
 */

const OUTAGE_MS = 10_000;
const CLIENTS = 6;
let proxy: TcpProxy;
let api: TestApi;
let mail: ReturnType<typeof temporaryMailDir>;
let g: Group;

beforeAll(async () => {
  const info = clusterInfo();
  proxy = await TcpProxy.start({ host: info.host, port: info.port });
  mail = temporaryMailDir();
  api = await startTestApi({ env: { MAIL_DIR: mail.path }, runtimeUrl: (url) => proxy.urlThrough(url) });
  g = await createGroup(api, mail.path, { slug: 'outage', stores: ['North'] });
});

afterAll(async () => {
  proxy.restore();
  await api.close();
  await proxy.close();
  mail.remove();
});

interface Answer {
  at: number;
  ms: number;
  status: number;
  contentType: string;
  type: unknown;
  retryAfter: unknown;
}

it('answers 503 while the database is away, goes unready, and recovers by itself', async () => {
  const token = g.tokens['admin@outage.test']!;
  const headers = { authorization: `Bearer ${token}` };
  const requests = [
    () => api.app.inject({ method: 'GET', url: `/v1/tenants/${g.tenantId}/stores`, headers }),
    () =>
      api.app.inject({
        method: 'POST',
        url: `/v1/tenants/${g.tenantId}/customers`,
        headers,
        payload: { storeId: g.storeIds.North, name: 'Outage Customer' },
      }),
  ];
  const answers: Answer[] = [];
  let running = true;
  const clients = Array.from({ length: CLIENTS }, async (_, client) => {
    for (let i = 0; running; i++) {
      const started = Date.now();
      const response = await requests[(client + i) % requests.length]!();
      const json = String(response.headers['content-type']).includes('json');
      answers.push({
        at: started,
        ms: Date.now() - started,
        status: response.statusCode,
        contentType: String(response.headers['content-type']),
        type: json ? response.json<{ type?: unknown }>().type : undefined,
        retryAfter: response.headers['retry-after'],
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });

  await new Promise((resolve) => setTimeout(resolve, 500));
  const cutAt = Date.now();
  proxy.cut();
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const unready = await api.app.inject({ method: 'GET', url: '/health/ready' });
  await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS - 1_000));
  const backAt = Date.now();
  proxy.restore();
  // Recovered: every client's requests succeed again.
  let recoveredAt = 0;
  for (let waited = 0; waited < 15_000 && recoveredAt === 0; waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const recent = answers.filter((answer) => answer.at > Date.now() - 500);
    if (recent.length >= CLIENTS && recent.every((answer) => answer.status < 300)) recoveredAt = Date.now();
  }
  const ready = await api.app.inject({ method: 'GET', url: '/health/ready' });
  running = false;
  await Promise.all(clients);

  const before = answers.filter((answer) => answer.at + answer.ms < cutAt);
  const during = answers.filter((answer) => answer.at > cutAt + 100 && answer.at + answer.ms < backAt);
  expect(before.length).toBeGreaterThan(0);
  expect(before.every((answer) => answer.status < 300)).toBe(true);
  expect(during.length).toBeGreaterThan(CLIENTS);
  for (const answer of during) {
    expect(answer).toMatchObject({ status: 503, type: '/problems/database-unavailable', retryAfter: '5' });
    expect(answer.contentType).toContain('application/problem+json');
    // Promptly: within the pool's connection timeout, never hanging for the outage.
    expect(answer.ms).toBeLessThan(6_000);
  }
  expect(answers.some((answer) => answer.status >= 500 && answer.status !== 503)).toBe(false);
  expect(unready.statusCode).toBe(503);
  expect(recoveredAt).toBeGreaterThan(0);
  expect(ready.statusCode).toBe(200);
  // Recovered within a few seconds of the return (the figure is in docs/reliability.md).
  expect(recoveredAt - backAt).toBeLessThan(5_000);
  const slowest = Math.max(...during.map((answer) => answer.ms));
  recordFigures(
    reliabilityMode(),
    'outage',
    `| outage | clients | answers during it | of them 503 problem+json | slowest answer | readiness during | recovered after the return |
| --- | --- | --- | --- | --- | --- | --- |
| ${OUTAGE_MS / 1000} s | ${CLIENTS} | ${during.length} | ${during.length} | ${slowest} ms | ${unready.statusCode} | ${recoveredAt - backAt} ms |`,
  );
}, 60_000);

it('answers 503 while the server ends every connection to the database and refuses new ones, then recovers', async () => {
  const token = g.tokens['admin@outage.test']!;
  const get = () =>
    api.app.inject({
      method: 'GET',
      url: `/v1/tenants/${g.tenantId}/stores`,
      headers: { authorization: `Bearer ${token}` },
    });
  expect((await get()).statusCode).toBe(200);
  const superuser = new Pool({ connectionString: api.db.adminUrl.replace(/\/[^/]+$/, '/postgres'), max: 1 });
  try {
    await superuser.query(`alter database ${api.db.name} allow_connections false`);
    await superuser.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [
      api.db.name,
    ]);
    const during = await Promise.all(Array.from({ length: 5 }, () => get()));
    for (const answer of during) {
      expect(answer.statusCode).toBe(503);
      expect(answer.json<{ type: string }>().type).toBe('/problems/database-unavailable');
    }
    expect((await api.app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(503);
  } finally {
    await superuser.query(`alter database ${api.db.name} allow_connections true`);
    await superuser.end();
  }
  let status = 0;
  for (let tries = 0; tries < 50 && status !== 200; tries++) {
    status = (await get()).statusCode;
    if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(status).toBe(200);
});
