import { createHash, randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { AuditLog, AuditSealer } from '@forecourt/audit';
import {
  ApiProcess,
  createGroup,
  type Group,
  multipartFile,
  startTestApi,
  temporaryMailDir,
  type TestApi,
  TINY_PNG,
} from '@forecourt/test-harness';
import { recordFigures, reliabilityMode } from './suite';

/**
 * The API process killed with SIGKILL at random moments under a steady write load (customers,
 * leads, deals, photo uploads), restarted each time: every write it acknowledged is there afterwards
 * with its audit event, no row exists without its event, the audit chain verifies, and every
 * photo a row names opens to the bytes it was given.
 */

const KILLS = 3;
const CLIENTS = 4;
let setup: TestApi;
let admin: Pool;
let mail: ReturnType<typeof temporaryMailDir>;
let g: Group;
let vehicleId: string;

beforeAll(async () => {
  mail = temporaryMailDir();
  // The in-process instance creates the group and checks the outcome; the killed one is a process
  // of its own on the same database, data directory and master key.
  setup = await startTestApi({ env: { MAIL_DIR: mail.path } });
  admin = new Pool({ connectionString: setup.db.adminUrl, max: 2 });
  g = await createGroup(setup, mail.path, { slug: 'crash', stores: ['North'] });
  const vehicle = await setup.app.inject({
    method: 'POST',
    url: `/v1/tenants/${g.tenantId}/vehicles`,
    headers: { authorization: `Bearer ${token()}` },
    payload: {
      storeId: g.storeIds.North,
      vin: `WVW${randomBytes(7).toString('hex').toUpperCase().replace(/[IOQ]/g, 'A')}`,
      year: 2022,
      make: 'Skoda',
      model: 'Enyaq',
      mileage: 10,
      priceMinor: 4_000_000,
      currency: 'EUR',
    },
  });
  vehicleId = vehicle.json<{ id: string }>().id;
});

afterAll(async () => {
  await admin.end();
  await setup.close();
  mail.remove();
});

const token = () => g.tokens['admin@crash.test']!;

interface Acknowledged {
  kind: 'customer' | 'lead' | 'deal' | 'media';
  id: string;
  sha256?: string;
}

/** One client's writes against `base` until `stop()` says so; only 2xx answers count as written. */
async function writeUntil(
  base: () => string,
  stop: () => boolean,
  acknowledged: Acknowledged[],
): Promise<void> {
  const headers = { authorization: `Bearer ${token()}` };
  let customerId: string | null = null;
  for (let i = 0; !stop(); i++) {
    try {
      if (i % 4 === 0 || customerId === null) {
        const response = await fetch(`${base()}/v1/tenants/${g.tenantId}/customers`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify({ storeId: g.storeIds.North, name: `Crash ${i}` }),
        });
        if (response.status === 201) {
          customerId = ((await response.json()) as { id: string }).id;
          acknowledged.push({ kind: 'customer', id: customerId });
        }
      } else if (i % 4 === 1) {
        const response = await fetch(`${base()}/v1/tenants/${g.tenantId}/leads`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify({ storeId: g.storeIds.North, customerId, source: 'crash-test' }),
        });
        if (response.status === 201)
          acknowledged.push({ kind: 'lead', id: ((await response.json()) as { id: string }).id });
      } else if (i % 4 === 2) {
        const response = await fetch(`${base()}/v1/tenants/${g.tenantId}/deals`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify({
            storeId: g.storeIds.North,
            customerId,
            vehicleId,
            priceMinor: 3_990_000,
            currency: 'EUR',
          }),
        });
        if (response.status === 201)
          acknowledged.push({ kind: 'deal', id: ((await response.json()) as { id: string }).id });
      } else {
        // A PNG with a unique tail, so each upload has bytes of its own to check.
        const bytes = Buffer.concat([TINY_PNG, randomBytes(64 * 1024)]);
        const file = multipartFile(bytes, { contentType: 'image/png', fileName: `crash-${i}.png` });
        const response = await fetch(`${base()}/v1/tenants/${g.tenantId}/vehicles/${vehicleId}/media`, {
          method: 'POST',
          headers: { ...headers, ...file.headers },
          body: new Uint8Array(file.payload),
        });
        if (response.status === 201) {
          acknowledged.push({
            kind: 'media',
            id: ((await response.json()) as { id: string }).id,
            sha256: createHash('sha256').update(bytes).digest('hex'),
          });
        }
      }
    } catch {
      // The process is gone mid-request: not acknowledged, so nothing is promised.
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

it('keeps every acknowledged write, with its audit event, through repeated SIGKILLs', async () => {
  const env = {
    DATABASE_URL: setup.db.runtimeUrl,
    MIGRATION_DATABASE_URL: setup.db.ownerUrl,
    DATA_DIR: setup.dataDir,
    MASTER_KEY: setup.masterKey,
    MAIL_DIR: mail.path,
    LOG_LEVEL: 'silent',
  };
  const acknowledged: Acknowledged[] = [];
  let api = await ApiProcess.start(env);
  await api.waitUntilReady();
  let stopped = false;
  const clients = Array.from({ length: CLIENTS }, () =>
    writeUntil(
      () => api.url(''),
      () => stopped,
      acknowledged,
    ),
  );
  let kills = 0;
  for (; kills < KILLS; kills++) {
    await new Promise((resolve) => setTimeout(resolve, 400 + Math.random() * 1_100));
    const before = acknowledged.length;
    expect((await api.stop('SIGKILL')).signal).toBe('SIGKILL');
    expect(before).toBeGreaterThan(0);
    api = await ApiProcess.start({ ...env, PORT: String(api.port) });
    await api.waitUntilReady();
  }
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  stopped = true;
  await Promise.all(clients);
  await api.stop();

  const byKind = (kind: Acknowledged['kind']) => acknowledged.filter((write) => write.kind === kind);
  expect(byKind('customer').length).toBeGreaterThan(0);
  expect(byKind('lead').length).toBeGreaterThan(0);
  expect(byKind('deal').length).toBeGreaterThan(0);
  expect(byKind('media').length).toBeGreaterThan(0);

  // Every acknowledged write is there, with its event.
  const tables = { customer: 'customers', lead: 'leads', deal: 'deals', media: 'vehicle_media' } as const;
  const actions = {
    customer: 'customer.create',
    lead: 'lead.create',
    deal: 'deal.create',
    media: 'vehicle_media.upload',
  } as const;
  for (const kind of ['customer', 'lead', 'deal', 'media'] as const) {
    const ids = byKind(kind).map((write) => write.id);
    const rows = await admin.query(`select id from ${tables[kind]} where tenant_id = $1 and id = any($2)`, [
      g.tenantId,
      ids,
    ]);
    expect(rows.rowCount).toBe(ids.length);
    // ... and no row of the tenant is without its event, acknowledged or not.
    const orphans = await admin.query(
      `select t.id from ${tables[kind]} t where t.tenant_id = $1 and not exists (
           select 1 from audit_events e where e.tenant_id = t.tenant_id and e.subject_id = t.id::text and e.action = $2)`,
      [g.tenantId, actions[kind]],
    );
    expect(orphans.rows).toEqual([]);
  }

  // Every photo a row names opens to exactly the bytes acknowledged for it.
  const expected = new Map(byKind('media').map((write) => [write.id, write.sha256]));
  const { rows: media } = await admin.query<{ id: string; sha256: Buffer }>(
    'select id, sha256 from vehicle_media where tenant_id = $1',
    [g.tenantId],
  );
  for (const row of media) {
    const download = await setup.app.inject({
      method: 'GET',
      url: `/v1/tenants/${g.tenantId}/vehicles/${vehicleId}/media/${row.id}`,
      headers: { authorization: `Bearer ${token()}` },
    });
    expect(download.statusCode).toBe(200);
    const sha256 = createHash('sha256').update(download.rawPayload).digest('hex');
    expect(sha256).toBe(row.sha256.toString('hex'));
    if (expected.has(row.id)) expect(sha256).toBe(expected.get(row.id));
  }

  // The trail, sealed, verifies end to end.
  await setup.app.get(AuditSealer).sealAll();
  expect(await setup.app.get(AuditLog).verify(g.tenantId)).toMatchObject({ ok: true });
  expect(kills).toBe(KILLS);
  recordFigures(
    reliabilityMode(),
    'crash',
    `| kills (SIGKILL) | writes acknowledged | customers | leads | deals | photos | acknowledged writes lost | rows without their event | photos not opening to their bytes |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
| ${kills} | ${acknowledged.length} | ${byKind('customer').length} | ${byKind('lead').length} | ${byKind('deal').length} | ${byKind('media').length} | 0 | 0 | 0 |`,
  );
}, 120_000);
