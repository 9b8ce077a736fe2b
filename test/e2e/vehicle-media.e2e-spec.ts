import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Pool } from 'pg';
import { loadConfig } from '@forecourt/config';
import { newId } from '@forecourt/core';
import {
  ObjectDeletions,
  objectDriverFor,
  type ObjectDriver,
  ObjectStore,
  S3ObjectDriver,
} from '@forecourt/storage';
import {
  createGroup,
  type Group,
  multipartFile,
  startS3Server,
  startTestApi,
  temporaryMailDir,
  type TestApi,
  TINY_PNG,
} from '@forecourt/test-harness';

/**
 * Vehicle media end to end, once on local files and once on a real S3-protocol server (s3rver in
 * a child process): streamed upload and download of a large file with flat memory, encryption at
 * rest under the tenant's key, type by magic bytes, size limit, signed links, tenant walls,
 * deletion and audit.
 */

const MIB = 1024 * 1024;
const LIMIT = 60 * MIB;
const BIG = 50 * MIB;
const MARKER = Buffer.from('FORECOURT-PLAINTEXT-MARKER-7c1f');
const PDF_HEAD = Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1');

type Driver = 'local' | 's3';

/**
 * What the process holds — JS heap plus Buffers — right after a full collection, so that garbage
 * V8 has not yet collected does not count: the memory a transfer keeps, not what it churns.
 */
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
function heldMemory(): number {
  // The second collection also finishes freeing the Buffers the first found dead.
  collectGarbage();
  collectGarbage();
  const { heapUsed, external } = process.memoryUsage();
  return heapUsed + external;
}

describe.each<Driver>(['local', 's3'])('vehicle media on the %s driver', (driver) => {
  let api: TestApi;
  let admin: Pool;
  let mail: ReturnType<typeof temporaryMailDir>;
  let stopS3: (() => Promise<void>) | undefined;
  let raw: ObjectDriver;
  let a: Group;
  let b: Group;
  let port: number;

  const adminOf = (group: Group) =>
    group.tokens[`admin@${group === a ? 'media-a' : 'media-b'}-${driver}.test`]!;

  async function call(
    group: Group,
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    options: {
      token?: string;
      payload?: Buffer | object;
      headers?: Record<string, string>;
      tenantId?: string;
    } = {},
  ) {
    const response = await api.app.inject({
      method,
      url: `/v1/tenants/${options.tenantId ?? group.tenantId}${url}`,
      payload: options.payload,
      headers: { ...options.headers, authorization: `Bearer ${options.token ?? adminOf(group)}` },
    });
    return {
      status: response.statusCode,
      headers: response.headers,
      rawBody: response.rawPayload,
      body: response.headers['content-type']?.toString().includes('json')
        ? response.json<Record<string, unknown>>()
        : {},
      requestId: String(response.headers['x-request-id']),
    };
  }

  async function newVehicle(group: Group): Promise<string> {
    const vin = `WVW${randomBytes(7).toString('hex').toUpperCase().replace(/[IOQ]/g, 'A')}`;
    const created = await call(group, 'POST', '/vehicles', {
      payload: {
        storeId: Object.values(group.storeIds)[0],
        vin,
        year: 2021,
        make: 'Volkswagen',
        model: 'ID.3',
        mileage: 5,
        priceMinor: 3_000_000,
        currency: 'EUR',
      },
    });
    expect(created.status).toBe(201);
    return String(created.body.id);
  }

  async function upload(group: Group, vehicleId: string, bytes: Buffer, contentType = 'application/pdf') {
    return call(
      group,
      'POST',
      `/vehicles/${vehicleId}/media`,
      multipartFile(bytes, { contentType, fileName: 'file.bin' }),
    );
  }

  async function pendingDeletions(vehicleId: string) {
    const { rows } = await admin.query<{ object_key: string }>(
      'select object_key from object_deletions where object_key like $1',
      [`%/vehicles/${vehicleId}/%`],
    );
    return rows;
  }

  async function eventsOf(tenantId: string, requestId: string) {
    const { rows } = await admin.query<{
      action: string;
      subject_id: string;
      actor_id: string;
      reason: string | null;
    }>(
      'select action, subject_id, actor_id, reason from audit_events where tenant_id = $1 and request_id = $2',
      [tenantId, requestId],
    );
    return rows;
  }

  beforeAll(async () => {
    mail = temporaryMailDir();
    const env: Record<string, string> = {
      MAIL_DIR: mail.path,
      MEDIA_MAX_BYTES: String(LIMIT),
      MEDIA_LINK_SECONDS: '2',
    };
    if (driver === 's3') {
      const s3 = await startS3Server();
      stopS3 = () => s3.stop();
      Object.assign(env, {
        S3_ENDPOINT: s3.settings.endpoint,
        S3_BUCKET: s3.settings.bucket,
        S3_REGION: s3.settings.region,
        S3_ACCESS_KEY_ID: s3.settings.accessKeyId,
        S3_SECRET_ACCESS_KEY: s3.settings.secretAccessKey,
        // s3rver stores the SDK's streamed checksum framing as object bytes (see docs/storage.md)
        S3_CHECKSUMS: 'when_required',
      });
    }
    api = await startTestApi({ env });
    expect(api.app.get(ObjectStore).driverKind).toBe(driver);
    raw = objectDriverFor(loadConfig({ ...env, DATA_DIR: api.dataDir, MASTER_KEY: api.masterKey }));
    admin = new Pool({ connectionString: api.db.adminUrl, max: 1 });
    a = await createGroup(api, mail.path, { slug: `media-a-${driver}`, stores: ['Main'] });
    b = await createGroup(api, mail.path, {
      slug: `media-b-${driver}`,
      stores: ['Main'],
      ownerEmail: `owner2@${driver}.test`,
    });
    await api.app.listen(0, '127.0.0.1');
    port = (api.app.getHttpServer().address() as AddressInfo).port;
  }, 120_000);

  afterAll(async () => {
    await admin?.end();
    await api?.close();
    if (raw instanceof S3ObjectDriver) raw.close();
    await stopS3?.();
    mail?.remove();
  });

  it('round-trips a 50 MiB file byte-identical over HTTP, with memory growing far less than the file', async () => {
    const vehicleId = await newVehicle(a);
    // The body is generated as it is sent and hashed on the way: it never sits whole in this process.
    const sent = createHash('sha256');
    let produced = 0;
    const boundary = 'forecourtbigfile';
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\nContent-Type: application/pdf\r\n\r\n`,
    );
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    // Sampled by progress, not by time: every 5 MiB sent or received, whatever the speed.
    const SAMPLE_EVERY = 5 * MIB;
    const samples: number[] = [];
    const baseline = heldMemory();
    const file = new Readable({
      read() {
        if (produced >= BIG) {
          this.push(null);
          return;
        }
        const chunk =
          produced === 0
            ? Buffer.concat([PDF_HEAD, randomBytes(64 * 1024 - PDF_HEAD.length)])
            : randomBytes(64 * 1024);
        produced += chunk.length;
        sent.update(chunk);
        if (produced % SAMPLE_EVERY === 0) samples.push(heldMemory());
        this.push(chunk);
      },
    });
    const uploaded = await new Promise<{ status: number; body: Record<string, unknown> }>(
      (resolve, reject) => {
        const req = httpRequest(
          {
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: `/v1/tenants/${a.tenantId}/vehicles/${vehicleId}/media`,
            headers: {
              authorization: `Bearer ${adminOf(a)}`,
              'content-type': `multipart/form-data; boundary=${boundary}`,
              'content-length': String(head.length + BIG + tail.length),
            },
          },
          (res) => {
            void buffer(res).then(
              (body) =>
                resolve({
                  status: res.statusCode ?? 0,
                  body: JSON.parse(body.toString()) as Record<string, unknown>,
                }),
              reject,
            );
          },
        );
        req.on('error', reject);
        req.write(head);
        file.on('end', () => req.end(tail));
        file.pipe(req, { end: false });
      },
    );
    expect(uploaded.status).toBe(201);
    const digest = sent.digest('hex');
    expect(uploaded.body).toMatchObject({ contentType: 'application/pdf', size: BIG, sha256: digest });

    const received = createHash('sha256');
    let receivedBytes = 0;
    const status = await new Promise<number>((resolve, reject) => {
      httpRequest(
        {
          host: '127.0.0.1',
          port,
          path: `/v1/tenants/${a.tenantId}/vehicles/${vehicleId}/media/${String(uploaded.body.id)}`,
          headers: { authorization: `Bearer ${adminOf(a)}` },
        },
        (res) => {
          res.on('data', (chunk: Buffer) => {
            received.update(chunk);
            const before = receivedBytes;
            receivedBytes += chunk.length;
            if (Math.floor(receivedBytes / SAMPLE_EVERY) > Math.floor(before / SAMPLE_EVERY)) {
              samples.push(heldMemory());
            }
          });
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        },
      )
        .on('error', reject)
        .end();
    });
    expect(status).toBe(200);
    expect(receivedBytes).toBe(BIG);
    expect(received.digest('hex')).toBe(digest);
    const growth = Math.max(...samples) - baseline;
    // Upload and download both ran inside this process (client and API): had either held the file,
    // memory would have grown by its 50 MiB. Streaming holds a few 64 KiB chunks (measured: about
    // 1.5 MiB) — and, on S3, the 5 MiB multipart part being filled and the one being sent, with
    // the SDK's copies of them (measured: about 16.5 MiB).
    expect(samples.length).toBeGreaterThanOrEqual(18); // 10 while sending, 10 while receiving
    expect(growth).toBeLessThan(driver === 'local' ? 8 * MIB : 24 * MIB);
  }, 120_000);

  it('keeps no plaintext at rest, and the bytes do not open under another tenant’s data key', async () => {
    const vehicleId = await newVehicle(a);
    const content = Buffer.concat([PDF_HEAD, ...Array.from({ length: 20_000 }, () => MARKER)]);
    const uploaded = await upload(a, vehicleId, content);
    expect(uploaded.status).toBe(201);
    const key = `tenants/${a.tenantId}/vehicles/${vehicleId}/media/${String(uploaded.body.id)}`;
    const atRest = await buffer((await raw.read(key))!);
    expect(atRest.length).toBeGreaterThan(content.length);
    expect(atRest.includes(MARKER)).toBe(false);
    expect(atRest.includes(Buffer.from('FORECOURT'))).toBe(false);
    expect(atRest.includes(Buffer.from('%PDF'))).toBe(false);

    // Tenant B gets a data key of its own, then A's bytes are planted in B's part of the store,
    // with the key ids in them rewritten to B's key: only the key material now differs.
    expect((await upload(b, await newVehicle(b), TINY_PNG, 'image/png')).status).toBe(201);
    const keyOf = async (tenantId: string) =>
      (
        await admin.query<{ id: string }>(
          'select id from tenant_keys where tenant_id = $1 and retired_at is null',
          [tenantId],
        )
      ).rows[0]!.id;
    const [keyA, keyB] = [await keyOf(a.tenantId), await keyOf(b.tenantId)];
    const planted = Buffer.from(atRest);
    const swap = (from: Buffer, to: Buffer) => {
      const at = planted.indexOf(from);
      expect(at).toBeGreaterThanOrEqual(0);
      to.copy(planted, at);
    };
    swap(Buffer.from(`tenant:${a.tenantId}`), Buffer.from(`tenant:${b.tenantId}`));
    swap(Buffer.from(keyA.replace(/-/g, ''), 'hex'), Buffer.from(keyB.replace(/-/g, ''), 'hex'));
    const path = `vehicles/${vehicleId}/media/${String(uploaded.body.id)}`;
    await raw.write(`tenants/${b.tenantId}/${path}`, Readable.from([planted]));
    const opened = await api.app.get(ObjectStore).open({ tenantId: b.tenantId }, path);
    await expect(buffer(opened!)).rejects.toThrow(/tampered|another key/);
    // and unchanged, under A's own key, it opens
    const own = await api.app.get(ObjectStore).get({ tenantId: a.tenantId }, path);
    expect(own!.equals(content)).toBe(true);
  });

  it('decides the type by the content: a text file labelled image/jpeg is refused, leaving nothing', async () => {
    const vehicleId = await newVehicle(a);
    const refused = await call(
      a,
      'POST',
      `/vehicles/${vehicleId}/media`,
      multipartFile(Buffer.from('<html><script>alert(1)</script></html>'.repeat(10)), {
        contentType: 'image/jpeg',
        fileName: 'photo.jpg',
      }),
    );
    expect(refused.status).toBe(415);
    expect(refused.body.detail).toMatch(/^file: /);
    expect(await raw.list(`tenants/${a.tenantId}/vehicles/${vehicleId}`)).toEqual([]);
    expect((await call(a, 'GET', `/vehicles/${vehicleId}/media`)).body.data).toEqual([]);
    // and each accepted kind is recognised whatever the client claims
    for (const [bytes, type] of [
      [TINY_PNG, 'image/png'],
      [Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(100)]), 'image/jpeg'],
      [Buffer.concat([PDF_HEAD, randomBytes(100)]), 'application/pdf'],
    ] as const) {
      const accepted = await upload(a, vehicleId, bytes, 'application/octet-stream');
      expect([accepted.status, accepted.body.contentType]).toEqual([201, type]);
    }
  });

  it('refuses an oversized upload with 413 and leaves no object and no row behind', async () => {
    const vehicleId = await newVehicle(a);
    const oversized = Buffer.concat([PDF_HEAD, Buffer.alloc(LIMIT + MIB - PDF_HEAD.length, 7)]);
    const refused = await upload(a, vehicleId, oversized);
    expect(refused.status).toBe(413);
    expect(refused.body.detail).toMatch(/^file: larger than/);
    expect(await raw.list(`tenants/${a.tenantId}/vehicles/${vehicleId}`)).toEqual([]);
    expect((await call(a, 'GET', `/vehicles/${vehicleId}/media`)).body.data).toEqual([]);
    const { rows } = await admin.query(
      'select 1 from vehicle_media where tenant_id = $1 and vehicle_id = $2',
      [a.tenantId, vehicleId],
    );
    expect(rows).toEqual([]);
    expect(await pendingDeletions(vehicleId)).toEqual([]); // the upload's reservation went with it
  });

  it('refuses a request that is not multipart, or has no file field, by name', async () => {
    const vehicleId = await newVehicle(a);
    const json = await call(a, 'POST', `/vehicles/${vehicleId}/media`, { payload: { file: 'x' } });
    expect([json.status, json.body.detail]).toEqual([400, expect.stringMatching(/^file: /)]);
    const wrongField = await call(
      a,
      'POST',
      `/vehicles/${vehicleId}/media`,
      multipartFile(TINY_PNG, { field: 'photo' }),
    );
    expect([wrongField.status, wrongField.body.detail]).toEqual([400, expect.stringMatching(/^file: /)]);
  });

  // Found by the reliability suite (test/reliability): busboy's "Unexpected end of form" was a 500.
  it('refuses a multipart body that ends inside the file with 400, leaving nothing', async () => {
    const vehicleId = await newVehicle(a);
    const whole = multipartFile(TINY_PNG);
    for (const cut of [whole.payload.subarray(0, 40), whole.payload.subarray(0, whole.payload.length - 10)]) {
      const truncated = await call(a, 'POST', `/vehicles/${vehicleId}/media`, {
        payload: cut,
        headers: whole.headers,
      });
      expect([truncated.status, truncated.body.type]).toEqual([
        400,
        '/problems/inventory-malformed-multipart',
      ]);
    }
    expect((await call(a, 'GET', `/vehicles/${vehicleId}/media`)).body.data).toEqual([]);
  });

  describe('signed links', () => {
    let vehicleId: string;
    let mediaId: string;
    let otherMediaId: string;
    const content = Buffer.concat([PDF_HEAD, randomBytes(3000)]);

    beforeAll(async () => {
      vehicleId = await newVehicle(a);
      mediaId = String((await upload(a, vehicleId, content)).body.id);
      otherMediaId = String((await upload(a, vehicleId, TINY_PNG, 'image/png')).body.id);
    });

    const linkTo = async (id: string) => {
      const answer = await call(a, 'GET', `/vehicles/${vehicleId}/media/${id}?delivery=link`);
      expect(answer.status).toBe(302);
      return String(answer.headers.location);
    };
    const follow = (url: string) => api.app.inject({ method: 'GET', url });

    it('work without a session until they expire, for that object only, and are audited', async () => {
      const url = await linkTo(mediaId);
      expect(url).toMatch(/^\/v1\/media-links\//);
      const fetched = await follow(url);
      expect(fetched.statusCode).toBe(200);
      expect(fetched.rawPayload.equals(content)).toBe(true);
      expect(fetched.headers['content-type']).toBe('application/pdf');
      expect(await eventsOf(a.tenantId, String(fetched.headers['x-request-id']))).toEqual([
        expect.objectContaining({
          action: 'vehicle_media.download',
          subject_id: mediaId,
          reason: 'signed link',
        }),
      ]);

      // another medium's id in the same link, a flipped MAC, another tenant: not a link
      const token = url.split('/').pop()!;
      const parts = token.split('.');
      const forged = [
        [parts[0], parts[1], otherMediaId, ...parts.slice(3)].join('.'),
        [...parts.slice(0, 5), `${parts[5]!.slice(0, -2)}AA`].join('.'),
        [parts[0], b.tenantId, ...parts.slice(2)].join('.'),
        `tenants%2F${a.tenantId}%2Fvehicles%2F${vehicleId}%2Fmedia%2F${mediaId}`,
      ];
      for (const bad of forged) expect((await follow(`/v1/media-links/${bad}`)).statusCode).toBe(404);

      await sleep(2_100);
      const expired = await follow(url);
      expect(expired.statusCode).toBe(410);
    });

    it('stop working once the vehicle is deleted, and its objects are gone', async () => {
      const url = await linkTo(mediaId);
      expect((await raw.list(`tenants/${a.tenantId}/vehicles/${vehicleId}`)).length).toBe(2);
      const deleted = await call(a, 'DELETE', `/vehicles/${vehicleId}`);
      expect(deleted.status).toBe(204);
      expect((await follow(url)).statusCode).toBe(404);
      expect(await raw.list(`tenants/${a.tenantId}/vehicles/${vehicleId}`)).toEqual([]);
      expect(await pendingDeletions(vehicleId)).toEqual([]); // carried out, nothing left for the sweep
      const [event] = await eventsOf(a.tenantId, deleted.requestId);
      expect(event).toMatchObject({ action: 'vehicle.delete', subject_id: vehicleId });
    });
  });

  it('removes by the sweep what a crash left: a deletion not carried out, an upload never recorded', async () => {
    const deletions = api.app.get(ObjectDeletions);
    // A crash right after a vehicle's deletion committed: the rows are gone, the object and the
    // recorded deletion remain.
    const leftKey = `tenants/${a.tenantId}/vehicles/${newId()}/media/${newId()}`;
    await raw.write(leftKey, Readable.from([Buffer.from('ciphertext')]));
    await admin.query('insert into object_deletions (tenant_id, object_key) values ($1, $2)', [
      a.tenantId,
      leftKey,
    ]);
    // An upload cut off after its object was written, before its row: reserved, never claimed.
    const abandonedKey = `tenants/${a.tenantId}/vehicles/${newId()}/media/${newId()}`;
    await deletions.reserve(a.tenantId, abandonedKey);
    await raw.write(abandonedKey, Readable.from([Buffer.from('ciphertext')]));
    // A medium recorded normally keeps its object.
    const vehicleId = await newVehicle(a);
    const kept = await upload(a, vehicleId, TINY_PNG, 'image/png');
    const keptKey = `tenants/${a.tenantId}/vehicles/${vehicleId}/media/${String(kept.body.id)}`;

    await deletions.sweep();
    expect(await raw.read(leftKey)).toBeNull();
    expect(await raw.read(abandonedKey)).not.toBeNull(); // still within the upload's grace
    await admin.query(
      `update object_deletions set not_before = now() - interval '1 second' where object_key = $1`,
      [abandonedKey],
    );
    await deletions.sweep();
    expect(await raw.read(abandonedKey)).toBeNull();
    expect(await raw.read(keptKey)).not.toBeNull();
    const { rows } = await admin.query('select object_key from object_deletions where object_key = any($1)', [
      [leftKey, abandonedKey, keptKey],
    ]);
    expect(rows).toEqual([]);
  });

  it('lets tenant B read nothing of A’s media, by id or through its own tenant', async () => {
    const vehicleId = await newVehicle(a);
    const mediaId = String((await upload(a, vehicleId, TINY_PNG, 'image/png')).body.id);
    const paths = [
      `/vehicles/${vehicleId}/media/${mediaId}`,
      `/vehicles/${vehicleId}/media`,
      `/vehicles/${vehicleId}`,
    ];
    for (const path of paths) {
      expect((await call(b, 'GET', path)).status).toBe(404); // A's ids under B's tenant
      expect((await call(b, 'GET', path, { tenantId: a.tenantId })).status).toBe(404); // A's tenant, B's admin
      expect((await call(b, 'GET', `${path.split('/media')[0]}/media/${mediaId}?delivery=link`)).status).toBe(
        404,
      );
    }
    expect((await call(b, 'DELETE', `/vehicles/${vehicleId}/media/${mediaId}`)).status).toBe(404);
    expect((await call(a, 'GET', `/vehicles/${vehicleId}/media/${mediaId}`)).status).toBe(200);
  });

  it('audits uploads and downloads under their request ids, and lists media on the vehicle', async () => {
    const vehicleId = await newVehicle(a);
    const uploaded = await upload(a, vehicleId, TINY_PNG, 'image/png');
    const mediaId = String(uploaded.body.id);
    expect(await eventsOf(a.tenantId, uploaded.requestId)).toEqual([
      expect.objectContaining({ action: 'vehicle_media.upload', subject_id: mediaId }),
    ]);
    const downloaded = await call(a, 'GET', `/vehicles/${vehicleId}/media/${mediaId}`);
    expect(downloaded.rawBody.equals(TINY_PNG)).toBe(true);
    expect(downloaded.headers['content-disposition']).toBe(`attachment; filename="${mediaId}.png"`);
    expect(await eventsOf(a.tenantId, downloaded.requestId)).toEqual([
      expect.objectContaining({ action: 'vehicle_media.download', subject_id: mediaId }),
    ]);
    const detail = await call(a, 'GET', `/vehicles/${vehicleId}`);
    expect(detail.body.media).toEqual([
      expect.objectContaining({
        id: mediaId,
        contentType: 'image/png',
        kind: 'photo',
        size: TINY_PNG.length,
        sha256: createHash('sha256').update(TINY_PNG).digest('hex'),
        fileName: 'file.bin',
      }),
    ]);
    const removed = await call(a, 'DELETE', `/vehicles/${vehicleId}/media/${mediaId}`);
    expect(removed.status).toBe(204);
    expect(await eventsOf(a.tenantId, removed.requestId)).toEqual([
      expect.objectContaining({ action: 'vehicle_media.delete', subject_id: mediaId }),
    ]);
    expect(await raw.list(`tenants/${a.tenantId}/vehicles/${vehicleId}`)).toEqual([]);
  });
});
