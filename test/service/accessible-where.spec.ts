import { subject } from '@casl/ability';
import fc from 'fast-check';
import { Client } from 'pg';
import { abilityFor, accessibleWhere, type Action, type Role, type Subject } from '@forecourt/authz';
import { createTestDatabase, TestDatabase } from '@forecourt/test-harness';

const TENANTS = ['01a20957-0000-7000-8000-00000000000a', '01a20957-0000-7000-8000-00000000000b'];
const STORES = [1, 2, 3, 4].map((n) => `01a20957-0000-7000-8000-0000000000${n}0`);
const USERS = [1, 2, 3].map((n) => `01a20957-0000-7000-8000-000000000${n}00`);
const DEALER_ROLES: Role[] = ['dealer_admin', 'dealer_manager', 'dealer_sales', 'dealer_marketing'];
const SUBJECTS: Subject[] = ['Lead', 'Customer', 'Deal', 'Vehicle', 'Store', 'User', 'Message', 'AuditEvent'];
const ACTIONS: Action[] = ['read', 'update', 'create', 'delete'];

interface Row {
  id: number;
  tenantId: string;
  storeId: string;
  assignedUserId: string | null;
  userId: string;
  actorId: string;
}

let db: TestDatabase;
let client: Client;

beforeAll(async () => {
  db = await createTestDatabase();
  client = new Client({ connectionString: db.adminUrl });
  await client.connect();
  await client.query(`create temp table rows (id int primary key, tenant_id uuid, store_id uuid,
    assigned_user_id uuid, user_id uuid, actor_id uuid)`);
});

afterAll(async () => {
  await client.end();
  await db.drop();
});

const rowArb = fc.record({
  tenantId: fc.constantFrom(...TENANTS),
  storeId: fc.constantFrom(...STORES),
  assignedUserId: fc.option(fc.constantFrom(...USERS), { nil: null }),
  userId: fc.constantFrom(...USERS),
  actorId: fc.constantFrom(...USERS),
});

const actorArb = fc.record({
  role: fc.constantFrom(...DEALER_ROLES),
  tenantId: fc.constantFrom(...TENANTS),
  userId: fc.constantFrom(...USERS),
  allStores: fc.boolean(),
  storeIds: fc.subarray(STORES),
  marketingSeesPii: fc.boolean(),
});

describe('list filters from the ability (rules → SQL)', () => {
  it('return exactly the rows can() allows, for random memberships, stores, rows, subjects and actions', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(rowArb, { minLength: 1, maxLength: 30 }),
        actorArb,
        fc.constantFrom(...SUBJECTS),
        fc.constantFrom(...ACTIONS),
        async (generated, actor, type, action) => {
          const rows: Row[] = generated.map((row, id) => ({ id, ...row }));
          await client.query('truncate rows');
          await client.query(
            `insert into rows select * from jsonb_to_recordset($1::jsonb) as r(id int, "tenantId" uuid,
               "storeId" uuid, "assignedUserId" uuid, "userId" uuid, "actorId" uuid)`,
            [JSON.stringify(rows)],
          );
          const ability = abilityFor({
            where: 'tenant',
            userId: actor.userId,
            platformRole: null,
            marketingSeesPii: actor.marketingSeesPii,
            membership: {
              tenantId: actor.tenantId,
              role: actor.role,
              allStores: actor.role === 'dealer_admin' || actor.allStores,
              storeIds: actor.storeIds,
            },
          });
          const where = accessibleWhere(
            ability,
            action,
            type,
            {
              tenantId: 'tenant_id',
              storeId: 'store_id',
              assignedUserId: 'assigned_user_id',
              userId: 'user_id',
              actorId: 'actor_id',
            },
            1,
          );
          const listed = await client.query<{ id: number }>(
            `select id from rows where ${where.sql} order by id`,
            where.params,
          );
          const allowed = rows
            .filter((row) => ability.can(action, subject(type, { ...row })))
            .map((row) => row.id);
          expect(listed.rows.map((row) => row.id)).toEqual(allowed);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('is false, not "no filter", when no rule allows the action at all', () => {
    const ability = abilityFor({
      where: 'tenant',
      userId: USERS[0],
      platformRole: null,
      membership: { tenantId: TENANTS[0]!, role: 'dealer_marketing', allStores: true, storeIds: [] },
    });
    expect(accessibleWhere(ability, 'read', 'Message', { tenantId: 'tenant_id' }, 1)).toEqual({
      sql: 'false',
      params: [],
    });
  });

  it('refuses to drop a condition it has no column for', () => {
    const ability = abilityFor({
      where: 'tenant',
      userId: USERS[0],
      platformRole: null,
      membership: { tenantId: TENANTS[0]!, role: 'dealer_sales', allStores: false, storeIds: [STORES[0]!] },
    });
    expect(() => accessibleWhere(ability, 'read', 'Lead', { tenantId: 'tenant_id' }, 1)).toThrow(/no column/);
  });
});
