import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Pool } from 'pg';
import {
  assertSafeRuntimeRole,
  bootstrapEmbeddedRoles,
  EMBEDDED_DATABASE,
  EMBEDDED_OWNER_ROLE,
  EMBEDDED_RUNTIME_ROLE,
  EmbeddedCluster,
  grantRuntimeGroup,
  migrateSchema,
  postgresUrl,
} from '@forecourt/database';
import { inTenant, schemaViolations, seedTenant } from '@forecourt/test-harness';
import { MIGRATIONS } from '../../migrations';

/** Debian's PostgreSQL 15 server (.ci/run installs it when missing). */
const PG15_BIN = process.env.PG15_BIN_DIR ?? '/usr/lib/postgresql/15/bin';

describe('the schema on PostgreSQL 15', () => {
  let cluster: EmbeddedCluster;
  let ownerUrl: string;
  let runtimeUrl: string;

  beforeAll(async () => {
    if (!existsSync(join(PG15_BIN, 'postgres'))) {
      throw new Error(`PostgreSQL 15 not found in ${PG15_BIN}: install postgresql-15 or set PG15_BIN_DIR`);
    }
    cluster = await EmbeddedCluster.startTemporary({ binDir: PG15_BIN, prefix: 'forecourt-pg15-' });
    const roles = { ownerPassword: 'owner-pass', runtimePassword: 'runtime-pass' };
    await bootstrapEmbeddedRoles(cluster.connectionConfig('postgres'), roles);
    ownerUrl = postgresUrl(
      '127.0.0.1',
      cluster.port,
      EMBEDDED_OWNER_ROLE,
      roles.ownerPassword,
      EMBEDDED_DATABASE,
    );
    runtimeUrl = postgresUrl(
      '127.0.0.1',
      cluster.port,
      EMBEDDED_RUNTIME_ROLE,
      roles.runtimePassword,
      EMBEDDED_DATABASE,
    );
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('runs on a 15.x server', async () => {
    const client = new Client(cluster.connectionConfig('postgres'));
    await client.connect();
    const { rows } = await client.query<{ version: string }>(
      'select current_setting($$server_version$$) as version',
    );
    await client.end();
    expect(rows[0]!.version).toMatch(/^15\./);
  });

  it('migrates cleanly as a non-superuser owner, and the schema rules hold', async () => {
    expect(await migrateSchema(ownerUrl, MIGRATIONS)).toEqual(MIGRATIONS.map((m) => new m().name));
    await grantRuntimeGroup({ connectionString: ownerUrl }, EMBEDDED_RUNTIME_ROLE);
    await assertSafeRuntimeRole({ connectionString: runtimeUrl });
    const owner = new Client({ connectionString: ownerUrl });
    await owner.connect();
    try {
      expect(await schemaViolations(owner)).toEqual([]);
    } finally {
      await owner.end();
    }
  });

  it('keeps tenants apart with row-level security', async () => {
    const pool = new Pool({ connectionString: runtimeUrl, max: 2 });
    try {
      const a = await seedTenant(pool, 'alpha');
      const b = await seedTenant(pool, 'bravo');
      const seen = await inTenant(pool, { tenantId: a.id }, async (client) =>
        (await client.query<{ tenant_id: string }>('select tenant_id from stores')).rows.map(
          (row) => row.tenant_id,
        ),
      );
      expect(new Set(seen)).toEqual(new Set([a.id]));
      expect(seen).not.toContain(b.id);
      expect((await pool.query('select * from stores')).rowCount).toBe(0);
    } finally {
      await pool.end();
    }
  });
});
