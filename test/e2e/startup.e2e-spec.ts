import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import {
  ApiProcess,
  createTestDatabase,
  embeddedRuntimeUrl,
  embeddedServerPid,
  inTenant,
  seedTenant,
  TestDatabase,
} from '@forecourt/test-harness';

let dataDir: string;

beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'forecourt-start-'));
  chmodSync(dataDir, 0o755);
});

afterAll(() => {
  const orphan = embeddedServerPid(dataDir);
  if (orphan) process.kill(orphan, 'SIGINT');
  rmSync(dataDir, { recursive: true, force: true });
});

/** Store names of `tenantId` as the runtime role, through RLS. */
async function storeNames(tenantId: string): Promise<string[]> {
  const pool = new Pool({ connectionString: embeddedRuntimeUrl(dataDir), max: 1 });
  try {
    return await inTenant(pool, { tenantId }, async (client) =>
      (await client.query<{ name: string }>('select name from stores order by name')).rows.map(
        (row) => row.name,
      ),
    );
  } finally {
    await pool.end();
  }
}

describe('npm start on the embedded defaults', () => {
  let tenantId: string;
  let names: string[];

  it('is ready on a fresh DATA_DIR, and exits 0 within 10 s of SIGTERM, stopping PostgreSQL', async () => {
    const api = await ApiProcess.start({ DATA_DIR: dataDir }, { viaNpm: true });
    expect(await api.waitUntilReady()).toBe(200);

    const pool = new Pool({ connectionString: embeddedRuntimeUrl(dataDir), max: 1 });
    const tenant = await seedTenant(pool, 'persist');
    await pool.end();
    tenantId = tenant.id;
    names = [...tenant.storeNames].sort();

    const serverPid = embeddedServerPid(dataDir);
    expect(serverPid).not.toBeNull();
    const exit = await api.stop('SIGTERM');
    expect(exit.code).toBe(0);
    expect(exit.ms).toBeLessThan(10_000);
    expect(embeddedServerPid(dataDir)).toBeNull();
  });

  it('keeps the data when started again on the same DATA_DIR', async () => {
    const api = await ApiProcess.start({ DATA_DIR: dataDir });
    try {
      await api.waitUntilReady();
      expect(await storeNames(tenantId)).toEqual(names);

      // Structured logs carry the request id and never the credentials a request brought.
      await fetch(api.url('/health/live'), {
        headers: {
          'x-request-id': 'log-probe-1',
          authorization: 'Bearer secret-token-xyz',
          cookie: 'sid=secret-cookie',
        },
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      const line = api.stdout.split('\n').find((entry) => entry.includes('log-probe-1'));
      expect(JSON.parse(line!)).toMatchObject({ requestId: 'log-probe-1', req: { path: '/health/live' } });
      expect(api.stdout).not.toMatch(/secret-token-xyz|secret-cookie/);

      const second = await ApiProcess.start({ DATA_DIR: dataDir });
      const exit = await second.exited;
      expect(exit.code).not.toBe(0);
      expect(second.stderr.trim().split('\n')).toHaveLength(1);
      expect(second.stderr).toMatch(/DATA_DIR .* is in use by another Forecourt process \(pid \d+\)/);
      // The first one is unharmed.
      expect((await fetch(api.url('/health/ready'))).status).toBe(200);
    } finally {
      expect((await api.stop('SIGINT')).code).toBe(0);
    }
  });

  it('recovers after a crash that left PostgreSQL running and a stale lock', async () => {
    const api = await ApiProcess.start({ DATA_DIR: dataDir });
    await api.waitUntilReady();
    const orphan = embeddedServerPid(dataDir);
    await api.stop('SIGKILL');
    expect(orphan).not.toBeNull();
    expect(embeddedServerPid(dataDir)).toBe(orphan); // left behind by the crash

    const again = await ApiProcess.start({ DATA_DIR: dataDir });
    try {
      await again.waitUntilReady();
      expect(embeddedServerPid(dataDir)).not.toBe(orphan);
      expect(await storeNames(tenantId)).toEqual(names);
    } finally {
      expect((await again.stop()).code).toBe(0);
    }
  });
});

describe('start-up refusals', () => {
  it('stops with one line naming PORT when PORT is not a number', async () => {
    const api = await ApiProcess.start({ DATA_DIR: dataDir, PORT: 'abc' });
    const exit = await api.exited;
    expect(exit.code).not.toBe(0);
    const lines = api.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/\bPORT\b/);
  });

  describe('with DATABASE_URL', () => {
    let db: TestDatabase;

    beforeAll(async () => {
      db = await createTestDatabase();
    });

    afterAll(async () => {
      await db.drop();
    });

    it('refuses a superuser runtime role', async () => {
      const api = await ApiProcess.start({
        DATA_DIR: dataDir,
        DATABASE_URL: db.adminUrl,
        MIGRATION_DATABASE_URL: db.ownerUrl,
      });
      expect((await api.exited).code).not.toBe(0);
      expect(api.stderr).toMatch(/runtime role "\w+" is a superuser/);
      expect(api.stderr).not.toContain(new URL(db.adminUrl).password);
    });

    it('refuses to run as the schema owner when MIGRATION_DATABASE_URL is not a different role', async () => {
      const api = await ApiProcess.start({ DATA_DIR: dataDir, DATABASE_URL: db.ownerUrl });
      expect((await api.exited).code).not.toBe(0);
      expect(api.stderr).toMatch(/would also own the schema \(set MIGRATION_DATABASE_URL/);
    });

    it('refuses a runtime role that owns the tables', async () => {
      const api = await ApiProcess.start({
        DATA_DIR: dataDir,
        DATABASE_URL: db.ownerUrl,
        MIGRATION_DATABASE_URL: db.adminUrl,
      });
      expect((await api.exited).code).not.toBe(0);
      expect(api.stderr).toMatch(/owns table/);
    });

    it('serves with a proper runtime role and a separate owner', async () => {
      const api = await ApiProcess.start({
        DATA_DIR: dataDir,
        DATABASE_URL: db.runtimeUrl,
        MIGRATION_DATABASE_URL: db.ownerUrl,
      });
      try {
        expect(await api.waitUntilReady()).toBe(200);
      } finally {
        expect((await api.stop()).code).toBe(0);
      }
    });
  });
});
