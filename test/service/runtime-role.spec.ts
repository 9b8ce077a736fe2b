import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { assertSafeRuntimeRole, UnsafeRuntimeRoleError } from '@forecourt/database';
import { createTestDatabase, OWNER_ROLE, TestDatabase } from '@forecourt/test-harness';

let db: TestDatabase;
let admin: Client;
const createdRoles: string[] = [];

/** A login role made for one case; dropped afterwards (roles are cluster-wide). */
async function loginRole(attributes: string, memberOf?: string): Promise<string> {
  const name = `role_check_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  await admin.query(`create role ${name} login ${attributes} password '${password}'`);
  if (memberOf) await admin.query(`grant ${memberOf} to ${name}`);
  createdRoles.push(name);
  const url = new URL(db.runtimeUrl);
  url.username = name;
  url.password = password;
  return url.toString();
}

beforeAll(async () => {
  db = await createTestDatabase();
  admin = new Client({ connectionString: db.adminUrl });
  await admin.connect();
});

afterAll(async () => {
  await admin.end();
  await db.drop();
  const cluster = new URL(db.adminUrl);
  cluster.pathname = '/postgres';
  const client = new Client({ connectionString: cluster.toString() });
  await client.connect();
  for (const role of createdRoles.reverse()) await client.query(`drop role if exists ${role}`);
  await client.end();
});

describe('the runtime role check at start-up', () => {
  it('accepts the runtime role: no superuser, no BYPASSRLS, owns nothing', async () => {
    await expect(assertSafeRuntimeRole({ connectionString: db.runtimeUrl })).resolves.toBeUndefined();
  });

  it('refuses a superuser', async () => {
    await expect(assertSafeRuntimeRole({ connectionString: db.adminUrl })).rejects.toThrow(/is a superuser/);
  });

  it('refuses a role with BYPASSRLS', async () => {
    const url = await loginRole('bypassrls');
    await expect(assertSafeRuntimeRole({ connectionString: url })).rejects.toThrow(/has BYPASSRLS/);
  });

  it('refuses the schema owner (an owner may switch row-level security off)', async () => {
    const error = await assertSafeRuntimeRole({ connectionString: db.ownerUrl }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsafeRuntimeRoleError);
    expect((error as Error).message).toMatch(/owns table/);
  });

  it('refuses a role that may SET ROLE to a BYPASSRLS role', async () => {
    const privileged = `role_check_${randomBytes(4).toString('hex')}`;
    await admin.query(`create role ${privileged} nologin bypassrls`);
    createdRoles.push(privileged);
    const url = await loginRole('', privileged);
    await expect(assertSafeRuntimeRole({ connectionString: url })).rejects.toThrow(
      /which is a superuser or has BYPASSRLS/,
    );
  });

  it('refuses a role that is a member of the table owner', async () => {
    const url = await loginRole('', OWNER_ROLE);
    await expect(assertSafeRuntimeRole({ connectionString: url })).rejects.toThrow(
      /member of the table owner/,
    );
  });
});
