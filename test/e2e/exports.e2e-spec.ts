import { parse } from 'csv-parse/sync';
import { Readable } from 'node:stream';
import { Pool } from 'pg';
import { AuditCheckpoints, AuditSealer, AuditSigningKey, verifierKeys, verifyExport } from '@forecourt/audit';
import { SettableClock } from '@forecourt/core';
import { EXPORT_OBJECTS, EXPORT_TABLES, type Manifest } from '@forecourt/lifecycle';
import {
  type ArchiveFile,
  createGroup,
  type Group,
  inTenant,
  multipartFile,
  readArchive,
  startTestApi,
  temporaryMailDir,
  type TestApi,
  TINY_PNG,
} from '@forecourt/test-harness';

/**
 * Tenant data export (issue 11, item 1) through the real HTTP API: the archive holds every row of
 * every exported table and the media bytes, its manifest's hashes match, nothing of another
 * tenant is in it, and only the tenant's own admin gets it — for 7 days.
 */

const BILL_OF_SALE = Buffer.from('%PDF-1.7\n% bill of sale\n%%EOF\n');
const DAY_MS = 24 * 3600_000;

const clock = new SettableClock();
const mail = temporaryMailDir();
let api: TestApi;
let runtime: Pool;
let alpha: Group;
let bravo: Group;
let bravoTenantData: string[];

type Answer = {
  status: number;
  type: string;
  body: Record<string, unknown>;
  raw: Buffer;
  headers: Record<string, unknown>;
};

async function as(
  group: Group,
  method: 'GET' | 'POST' | 'PATCH' | 'PUT',
  url: string,
  payload?: object | { raw: ReturnType<typeof multipartFile> },
): Promise<Answer> {
  const raw = payload && 'raw' in payload ? payload.raw : null;
  const response = await api.app.inject({
    method,
    url,
    payload: raw ? raw.payload : payload,
    headers: {
      ...(raw?.headers ?? {}),
      authorization: `Bearer ${group.tokens[`admin@${slugOf(group)}.test`]}`,
    },
  });
  const type = String(response.headers['content-type'] ?? '');
  return {
    status: response.statusCode,
    type,
    body: type.includes('json') ? response.json<Record<string, unknown>>() : {},
    raw: response.rawPayload,
    headers: response.headers,
  };
}

const slugs = new Map<string, string>();
function slugOf(group: Group): string {
  return slugs.get(group.tenantId)!;
}

async function created(answer: Promise<Answer>): Promise<string> {
  const { status, body } = await answer;
  if (status !== 201 && status !== 200)
    throw new Error(`set-up call failed: ${status} ${JSON.stringify(body)}`);
  return String(body.id);
}

/** A tenant's data made through the API: one of each row the export holds, sealed ids included. */
async function fill(group: Group, tag: string, vin: string): Promise<string[]> {
  const base = `/v1/tenants/${group.tenantId}`;
  const storeId = Object.values(group.storeIds)[0]!;
  const vehicleId = await created(
    as(group, 'POST', `${base}/vehicles`, {
      storeId,
      vin,
      year: 2020,
      make: `${tag}Make`,
      model: 'Estate',
      mileage: 12000,
      priceMinor: 2_150_000,
      currency: 'USD',
    }),
  );
  const mediaId = await created(
    as(group, 'POST', `${base}/vehicles/${vehicleId}/media`, { raw: multipartFile(TINY_PNG) }),
  );
  const customerId = await created(
    as(group, 'POST', `${base}/customers`, {
      storeId,
      name: `${tag} Customer`,
      email: `${tag.toLowerCase()}.customer@example.test`,
      phone: '+14155552671',
      nationalId: `${tag}-NID-123`,
      driverLicense: `${tag}-DL-456`,
      sensitive: { passport: `${tag}-P-789` },
    }),
  );
  await created(
    as(group, 'POST', `${base}/customers/${customerId}/consents`, {
      channel: 'email',
      purpose: 'marketing',
      status: 'granted',
      source: 'showroom form',
    }),
  );
  const leadId = await created(
    as(group, 'POST', `${base}/leads`, { storeId, customerId, vehicleId, source: 'walk-in' }),
  );
  await created(as(group, 'POST', `${base}/leads/${leadId}/messages`, { body: `${tag} asks about the car` }));
  await created(
    as(group, 'POST', `${base}/bookings`, {
      leadId,
      kind: 'test_drive',
      vehicleId,
      startsAt: '2026-12-20T10:00:00Z',
      endsAt: '2026-12-20T10:45:00Z',
    }),
  );
  const dealId = await created(
    as(group, 'POST', `${base}/deals`, {
      storeId,
      customerId,
      vehicleId,
      priceMinor: 2_100_000,
      currency: 'USD',
    }),
  );
  await created(as(group, 'PATCH', `${base}/deals/${dealId}`, { status: 'signed' }));
  await created(
    as(group, 'PUT', `${base}/deals/${dealId}/bill-of-sale`, {
      raw: multipartFile(BILL_OF_SALE, { contentType: 'application/pdf', fileName: 'bill.pdf' }),
    }),
  );
  await inTenant(runtime, { tenantId: group.tenantId }, (client) =>
    client.query(
      `insert into invoices (tenant_id, id, provider, provider_invoice_id, amount_minor, currency, status,
         issued_at, provider_updated_at)
       values ($1, gen_random_uuid(), 'stripe', $2, 9900, 'USD', 'paid', now(), now())`,
      [group.tenantId, `in_${tag}`],
    ),
  );
  return [group.tenantId, vehicleId, mediaId, customerId, leadId, dealId, tag, `${tag}-NID-123`];
}

/** Waits until the export is completed (or failed), observing every status it passes through. */
async function finished(group: Group, exportId: string): Promise<Record<string, unknown>> {
  for (let waited = 0; waited < 45_000; waited += 50) {
    const { body } = await as(group, 'GET', `/v1/tenants/${group.tenantId}/exports/${exportId}`);
    if (body.status === 'completed' || body.status === 'failed') return body;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the export did not finish within 45 s');
}

async function countIn(tenantId: string, table: string): Promise<number> {
  return inTenant(runtime, { tenantId }, async (client) =>
    Number((await client.query<{ n: string }>(`select count(*) as n from ${table}`)).rows[0]!.n),
  );
}

beforeAll(async () => {
  api = await startTestApi({ env: { MAIL_DIR: mail.path, EXPORT_POLL_MS: '50' }, clock });
  runtime = new Pool({ connectionString: api.db.runtimeUrl, max: 2 });
  alpha = await createGroup(api, mail.path, { slug: 'export-alpha', stores: ['North', 'South'] });
  slugs.set(alpha.tenantId, 'export-alpha');
  bravo = await createGroup(api, mail.path, {
    slug: 'export-bravo',
    stores: ['Bravo Lot'],
    ownerEmail: 'owner2@bravo.test',
  });
  slugs.set(bravo.tenantId, 'export-bravo');
  await fill(alpha, 'Alpha', '1M8GDM9AXKP042788');
  bravoTenantData = await fill(bravo, 'Bravo', '1HGCM82633A004352');
});

afterAll(async () => {
  await runtime?.end();
  await api?.close();
  mail.remove();
});

describe.each(['jsonl', 'csv'] as const)('an export in %s', (format) => {
  let exportId: string;
  let state: Record<string, unknown>;
  let download: Answer;
  let files: Map<string, ArchiveFile>;
  let manifest: Manifest;

  /** The rows of one file of the archive, parsed as its format says. */
  function rowsOf(name: string): Record<string, unknown>[] {
    const text = files.get(name)!.bytes!.toString('utf8');
    return format === 'jsonl'
      ? text
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as Record<string, unknown>)
      : parse<Record<string, string>>(text, { columns: true });
  }

  beforeAll(async () => {
    // A signed checkpoint of the chain so far, as the schedule makes every 15 minutes.
    await api.app.get(AuditSealer).sealAll();
    await api.app.get(AuditCheckpoints).checkpointAll();
    const requested = await as(alpha, 'POST', `/v1/tenants/${alpha.tenantId}/exports`, { format });
    expect(requested.status).toBe(202);
    expect(requested.body).toEqual({ id: expect.any(String) as unknown, status: 'queued' });
    exportId = String(requested.body.id);
    state = await finished(alpha, exportId);
    download = await as(alpha, 'GET', `/v1/tenants/${alpha.tenantId}/exports/${exportId}/download`);
    files = await readArchive(download.raw);
    manifest = JSON.parse(files.get('manifest.json')!.bytes!.toString('utf8')) as Manifest;
  });

  it('completes, with its row count, progress and a download window of 7 days', () => {
    expect(state).toEqual({
      id: exportId,
      status: 'completed',
      progress: { rowsDone: manifest.rowCount, rowsTotal: manifest.rowCount },
      rowCount: manifest.rowCount,
      createdAt: expect.any(String) as unknown,
      expiresAt: expect.any(String) as unknown,
    });
    expect(new Date(String(state.expiresAt)).getTime() - clock.now().getTime()).toBeGreaterThan(
      7 * DAY_MS - 60_000,
    );
  });

  it('downloads as a zip attachment', () => {
    expect(download.status).toBe(200);
    expect(download.type).toBe('application/zip');
    expect(String(download.headers['content-disposition'])).toBe(
      `attachment; filename="forecourt-export-${exportId}.zip"`,
    );
  });

  it('holds every row of every table (counts match the database), one file each', async () => {
    for (const table of EXPORT_TABLES) {
      const file = files.get(`${table.name}.${format}`);
      const rows = await countIn(alpha.tenantId, table.name);
      expect({ table: table.name, empty: rows === 0 }).toEqual({ table: table.name, empty: false });
      const listed = manifest.files.find((entry) => entry.path === `${table.name}.${format}`);
      expect({
        table: table.name,
        listed: listed?.rows,
        lines: file!.lines - (format === 'csv' ? 1 : 0),
      }).toEqual({
        table: table.name,
        listed: rows,
        lines: rows,
      });
    }
  });

  it("parses back: each table's rows are the tenant's, with their ids and no generated search keys", async () => {
    for (const table of EXPORT_TABLES) {
      const rows = rowsOf(`${table.name}.${format}`);
      const ids = await inTenant(runtime, { tenantId: alpha.tenantId }, async (client) =>
        (await client.query<{ id: string }>(`select id from ${table.name} order by id`)).rows.map(
          (row) => row.id,
        ),
      );
      expect({ table: table.name, ids: rows.map((row) => row.id) }).toEqual({ table: table.name, ids });
      for (const row of rows) expect(row.tenant_id).toBe(alpha.tenantId);
    }
    const vehicle = (
      format === 'jsonl' ? JSON.parse(files.get('vehicles.jsonl')!.bytes!.toString('utf8')) : null
    ) as Record<string, unknown> | null;
    if (vehicle) {
      expect(vehicle).toMatchObject({ make: 'AlphaMake', price_minor: 2_150_000, vin: '1M8GDM9AXKP042788' });
      expect(vehicle).not.toHaveProperty('make_key');
    } else {
      const [row] = parse<Record<string, string>>(files.get('vehicles.csv')!.bytes!.toString('utf8'), {
        columns: true,
      });
      expect(row).toMatchObject({
        make: 'AlphaMake',
        price_minor: '2150000',
        vin: '1M8GDM9AXKP042788',
        trim: '',
      });
      expect(row).not.toHaveProperty('make_key');
    }
  });

  it('lists every file in the manifest with the SHA-256 and size of its bytes', () => {
    expect(manifest).toMatchObject({
      format: 'forecourt-tenant-export/1',
      exportId,
      tenantId: alpha.tenantId,
      fileFormat: format,
    });
    const names = [...files.keys()].filter((name) => name !== 'manifest.json').sort();
    expect(manifest.files.map((file) => file.path).sort()).toEqual(names);
    for (const listed of manifest.files) {
      const file = files.get(listed.path)!;
      expect({ path: listed.path, sha256: listed.sha256, size: listed.size }).toEqual({
        path: listed.path,
        sha256: file.sha256,
        size: file.size,
      });
    }
  });

  it('holds the media bytes: the vehicle photo and the bill of sale, as uploaded', async () => {
    const objects = manifest.files.filter((file) => file.kind === 'object');
    for (const spec of EXPORT_OBJECTS) {
      const owners = await inTenant(
        runtime,
        { tenantId: alpha.tenantId },
        async (client) =>
          (
            await client.query<{ id: string }>(
              `select id from ${spec.table} where ${spec.keyColumn} is not null`,
            )
          ).rows,
      );
      expect(
        objects
          .filter((file) => file.table === spec.table)
          .map((file) => file.rowId)
          .sort(),
      ).toEqual(owners.map((row) => row.id).sort());
    }
    const photo = objects.find((file) => file.table === 'vehicle_media')!;
    expect(files.get(photo.path)!.bytes).toEqual(TINY_PNG);
    const bill = objects.find((file) => file.table === 'deals')!;
    expect(files.get(bill.path)!.bytes).toEqual(BILL_OF_SALE);
    expect(objects.every((file) => file.matchesRecorded)).toBe(true);
    expect(manifest.missingObjects).toEqual([]);
  });

  it("opens the customers' sealed identifiers: it is the owner's copy", () => {
    const customers = rowsOf(`customers.${format}`);
    expect(customers).toHaveLength(1);
    const sensitive: unknown =
      format === 'jsonl' ? customers[0]!.sensitive : JSON.parse(String(customers[0]!.sensitive));
    expect(customers[0]).toMatchObject({
      name: 'Alpha Customer',
      national_id: 'Alpha-NID-123',
      driver_license: 'Alpha-DL-456',
    });
    expect(sensitive).toEqual({ passport: 'Alpha-P-789' });
    expect(customers[0]).not.toHaveProperty('name_key');
  });

  it('holds the audit trail in the audit export format, which verifies offline', async () => {
    const trail = files.get(`audit_trail.${format}`)!;
    const published = await api.app.get(AuditSigningKey).published();
    const trusted = verifierKeys(published.map((key) => key.verifierKey));
    const report = await verifyExport(Readable.from([trail.bytes!]), format, trusted);
    expect(report).toMatchObject({
      ok: true,
      tenantId: alpha.tenantId,
      firstInvalidSeq: null,
      keysFrom: 'given',
    });
    expect(report.verifiedThroughSeq).toBeGreaterThan(0);
    const text = trail.bytes!.toString('utf8');
    expect(text).toContain('export.create');
    // The checkpoint signed before the export is in the file, so the offline check covers it.
    expect(text).toMatch(format === 'jsonl' ? /"type":"checkpoint"/ : /^checkpoint,/m);
  });

  it('holds nothing of another tenant', () => {
    const everything = Buffer.concat([...files.values()].map((file) => file.bytes!)).toString('utf8');
    for (const value of bravoTenantData)
      expect({ value, found: everything.includes(value) }).toEqual({ value, found: false });
  });

  it("is not there for another tenant's admin (404), on either tenant's path", async () => {
    for (const tenant of [alpha.tenantId, bravo.tenantId]) {
      for (const suffix of ['', '/download']) {
        const answer = await as(bravo, 'GET', `/v1/tenants/${tenant}/exports/${exportId}${suffix}`);
        expect({ tenant, suffix, status: answer.status }).toEqual({ tenant, suffix, status: 404 });
        expect(answer.type).toContain('application/problem+json');
      }
    }
  });

  it('is audited: the request, the completion and the download, in the tenant trail', async () => {
    const actions = await inTenant(
      runtime,
      { tenantId: alpha.tenantId },
      async (client) =>
        (
          await client.query<{ action: string; actor_id: string | null }>(
            `select action, actor_id from audit_events where subject_id = $1 order by at`,
            [exportId],
          )
        ).rows,
    );
    const admin = alpha.userIds[`admin@export-alpha.test`];
    expect(actions).toEqual(
      expect.arrayContaining([
        { action: 'export.create', actor_id: admin },
        { action: 'export.complete', actor_id: null },
        { action: 'export.download', actor_id: admin },
      ]),
    );
  });
});

describe('requests the API refuses', () => {
  const url = () => `/v1/tenants/${alpha.tenantId}/exports`;

  it.each([
    ['an unknown format', { format: 'xml' }],
    ['no format', {}],
    ['an unknown field', { format: 'jsonl', compress: true }],
  ])('400 problem+json naming the field for %s', async (_case, body) => {
    const answer = await as(alpha, 'POST', url(), body);
    expect(answer.status).toBe(400);
    expect(answer.type).toContain('application/problem+json');
    const fields = (answer.body.errors as { field: string }[]).map((error) => error.field);
    expect(fields).toContain(Object.keys(body).includes('compress') ? 'compress' : 'format');
  });

  it('400 for an export id that is not an id; 404 for one that does not exist', async () => {
    const bad = await as(alpha, 'GET', `${url()}/not-an-id`);
    expect(bad.status).toBe(400);
    expect((bad.body.errors as { field: string }[]).map((error) => error.field)).toContain('exportId');
    const missing = await as(alpha, 'GET', `${url()}/0190a0b0-0000-7000-8000-000000000000/download`);
    expect(missing.status).toBe(404);
  });

  it('409 for the download of an export that is not completed yet', async () => {
    const id = (
      await inTenant(runtime, { tenantId: alpha.tenantId }, (client) =>
        client.query<{ id: string }>(
          `insert into exports (tenant_id, id, format, status, attempts, failure, created_at)
           values ($1, gen_random_uuid(), 'csv', 'failed', 3, 'test', now()) returning id`,
          [alpha.tenantId],
        ),
      )
    ).rows[0]!.id;
    const answer = await as(alpha, 'GET', `${url()}/${id}/download`);
    expect(answer.status).toBe(409);
    expect(answer.body.type).toBe('/problems/export-not-ready');
    expect((await as(alpha, 'GET', `${url()}/${id}`)).body).toMatchObject({
      status: 'failed',
      rowCount: null,
    });
  });
});

describe('after 7 days', () => {
  afterAll(() => clock.set(new Date()));

  it('the archive is no longer downloadable (410), though the export is still listed', async () => {
    const requested = await as(alpha, 'POST', `/v1/tenants/${alpha.tenantId}/exports`, { format: 'jsonl' });
    const id = String(requested.body.id);
    expect((await finished(alpha, id)).status).toBe('completed');
    const download = `/v1/tenants/${alpha.tenantId}/exports/${id}/download`;

    clock.advance(7 * DAY_MS - 60_000);
    expect((await as(alpha, 'GET', download)).status).toBe(200);
    clock.advance(2 * 60_000);
    const expired = await as(alpha, 'GET', download);
    expect(expired.status).toBe(410);
    expect(expired.type).toContain('application/problem+json');
    expect(expired.body.type).toBe('/problems/export-expired');
    expect((await as(alpha, 'GET', `/v1/tenants/${alpha.tenantId}/exports/${id}`)).body.status).toBe(
      'completed',
    );
  });
});

describe('a read-only tenant (payment overdue past its grace)', () => {
  let owner: Pool;

  beforeAll(async () => {
    owner = new Pool({ connectionString: api.db.adminUrl, max: 1 });
    await owner.query(
      `insert into subscriptions (tenant_id, id, provider, provider_subscription_id, status, past_due_since,
         provider_updated_at)
       values ($1, gen_random_uuid(), 'stripe', 'sub_export', 'past_due', now() - interval '30 days', now())`,
      [alpha.tenantId],
    );
  });

  afterAll(async () => {
    await owner.query('delete from subscriptions where tenant_id = $1', [alpha.tenantId]);
    await owner.end();
  });

  it('still exports and downloads its data, while other changes are refused', async () => {
    const refused = await as(alpha, 'POST', `/v1/tenants/${alpha.tenantId}/stores`, { name: 'One more' });
    expect(refused.status).toBe(402);
    const requested = await as(alpha, 'POST', `/v1/tenants/${alpha.tenantId}/exports`, { format: 'csv' });
    expect(requested.status).toBe(202);
    const id = String(requested.body.id);
    expect((await finished(alpha, id)).status).toBe('completed');
    expect((await as(alpha, 'GET', `/v1/tenants/${alpha.tenantId}/exports/${id}/download`)).status).toBe(200);
  });
});
