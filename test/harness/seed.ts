import { randomBytes } from 'node:crypto';
import { v7 as newId } from 'uuid';
import type { Pool, PoolClient } from 'pg';

export interface ScopeForSeed {
  tenantId: string;
  stores?: 'all' | string[];
  userId?: string;
}

/**
 * Runs `work` as the runtime role inside a transaction with the tenant context set — the same
 * settings TenantTransaction sets — so seeding passes through row-level security like the API.
 */
export async function inTenant<T>(
  pool: Pool,
  scope: ScopeForSeed,
  work: (client: PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const stores = scope.stores === undefined || scope.stores === 'all' ? '*' : `{${scope.stores.join(',')}}`;
    await client.query(
      `select set_config('app.tenant_id', $1, true), set_config('app.store_ids', $2, true), set_config('app.user_id', $3, true)`,
      [scope.tenantId, stores, scope.userId ?? ''],
    );
    const result = await work(client);
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback');
    throw error;
  } finally {
    client.release();
  }
}

export interface SeededTenant {
  id: string;
  slug: string;
  storeIds: [string, string];
  storeNames: [string, string];
  userIds: string[];
  emails: string[];
}

export async function seedUser(
  pool: Pool,
  tenantId: string,
  user: { email: string; name: string; role?: string; userId?: string },
): Promise<string> {
  const userId = user.userId ?? newId();
  await inTenant(pool, { tenantId, userId }, async (client) => {
    if (!user.userId) {
      await client.query(`insert into users (id, email, name) values ($1, $2, $3)`, [
        userId,
        user.email,
        user.name,
      ]);
    }
    await client.query(
      `insert into memberships (tenant_id, id, user_id, role, all_stores) values ($1, $2, $3, $4, true)`,
      [tenantId, newId(), userId, user.role ?? 'dealer_admin'],
    );
    // Rows in the trail's tables, so isolation checks cover them with data present (placeholders,
    // not a valid chain: tests that verify a chain make their own).
    await client.query(
      `insert into audit_events (tenant_id, id, at, actor_role, action, subject_type, subject_id, outcome)
       values ($1, $2, now(), 'system', 'membership.create', 'Membership', $3, 'allowed')`,
      [tenantId, newId(), userId],
    );
    await client.query(
      `insert into support_grants (tenant_id, id, requester_id, reason, scope, duration_minutes)
       values ($1, $2, $3, 'seeded for isolation checks', 'read', 60)`,
      [tenantId, newId(), userId],
    );
    await client.query(
      `insert into audit_heads (tenant_id, seq, hash) values ($1, 1, $2) on conflict (tenant_id) do nothing`,
      [tenantId, randomBytes(32)],
    );
    await client.query(
      `insert into audit_checkpoints (tenant_id, id, seq, hash, signed_at, key_id, note)
       values ($1, $2, 1, $3, now(), 'seed', 'seed') on conflict do nothing`,
      [tenantId, newId(), randomBytes(32)],
    );
    if (!user.userId) {
      // A person's own rows, so isolation checks cover them with data present.
      await client.query(
        `insert into sessions (id, user_id, token_hash, expires_at) values ($1, $2, $3, now() + interval '1 hour')`,
        [newId(), userId, randomBytes(32)],
      );
      await client.query(`insert into recovery_codes (user_id, id, code_hash) values ($1, $2, $3)`, [
        userId,
        newId(),
        randomBytes(32),
      ]);
    }
  });
  return userId;
}

/** A tenant with two stores and two members, every value unique to it (tagged with `tag`). */
export async function seedTenant(pool: Pool, tag: string): Promise<SeededTenant> {
  const id = newId();
  const slug = `group-${tag}-${id.slice(-6)}`;
  const storeIds: [string, string] = [newId(), newId()];
  const storeNames: [string, string] = [`${tag} North Motors`, `${tag} South Motors`];
  await inTenant(pool, { tenantId: id }, async (client) => {
    await client.query(`insert into tenants (id, slug, name) values ($1, $2, $3)`, [
      id,
      slug,
      `${tag} Group`,
    ]);
    await client.query(
      `insert into invitations (tenant_id, id, email, role, token_hash, expires_at)
       values ($1, $2, $3, 'dealer_sales', $4, now() + interval '7 days')`,
      [id, newId(), `invitee.${tag}.${id.slice(-6)}@example.test`, randomBytes(32)],
    );
    await client.query(`insert into tenant_keys (tenant_id, id, wrapped_key) values ($1, $2, $3)`, [
      id,
      newId(),
      randomBytes(61),
    ]);
    for (const [index, storeId] of storeIds.entries()) {
      await client.query(`insert into stores (tenant_id, id, name) values ($1, $2, $3)`, [
        id,
        storeId,
        storeNames[index],
      ]);
      const vehicleId = newId();
      await client.query(
        `insert into vehicles (tenant_id, id, store_id, vin, year, make, model, mileage, price_minor, currency)
         values ($1, $2, $3, $4, 2019, $5, 'Model', 1000, 1500000, 'USD')`,
        [id, vehicleId, storeId, ['1M8GDM9AXKP042788', '1HGCM82633A004352'][index], `${tag}Make`],
      );
      await client.query(
        `insert into vehicle_media (tenant_id, id, vehicle_id, store_id, object_key, kind, content_type, size, sha256)
         values ($1, $2, $3, $4, $5, 'photo', 'image/jpeg', 1, $6)`,
        [
          id,
          newId(),
          vehicleId,
          storeId,
          `tenants/${id}/vehicles/${vehicleId}/media/${tag}`,
          randomBytes(32),
        ],
      );
      const customerId = newId();
      await client.query(
        `insert into customers (tenant_id, id, store_id, name, email, phone, national_id)
         values ($1, $2, $3, $4, $5, '+14155552671', $6)`,
        [
          id,
          customerId,
          storeId,
          `${tag} Customer ${index}`,
          `customer${index}.${tag}@example.test`,
          randomBytes(40),
        ],
      );
      const leadId = newId();
      await client.query(
        `insert into leads (tenant_id, id, store_id, customer_id, vehicle_id, source) values ($1, $2, $3, $4, $5, 'walk-in')`,
        [id, leadId, storeId, customerId, vehicleId],
      );
      await client.query(
        `insert into messages (tenant_id, id, lead_id, store_id, direction, channel, body)
         values ($1, $2, $3, $4, 'inbound', 'email', $5)`,
        [id, newId(), leadId, storeId, `${tag} asks about the car`],
      );
      await client.query(
        `insert into bookings (tenant_id, id, lead_id, store_id, kind, vehicle_id, starts_at, ends_at)
         values ($1, $2, $3, $4, 'test_drive', $5, now(), now() + interval '1 hour')`,
        [id, newId(), leadId, storeId, vehicleId],
      );
      await client.query(
        `insert into deals (tenant_id, id, store_id, customer_id, vehicle_id, price_minor, currency)
         values ($1, $2, $3, $4, $5, 1500000, 'USD')`,
        [id, newId(), storeId, customerId, vehicleId],
      );
      await client.query(
        `insert into consent_events (tenant_id, id, customer_id, store_id, channel, purpose, status, source)
         values ($1, $2, $3, $4, 'email', 'marketing', 'granted', 'seed')`,
        [id, newId(), customerId, storeId],
      );
      await client.query('insert into object_deletions (tenant_id, object_key) values ($1, $2)', [
        id,
        `tenants/${id}/vehicles/${vehicleId}/media/${tag}-gone`,
      ]);
    }
    await client.query(
      `insert into subscriptions (tenant_id, id, provider, provider_customer_id, provider_subscription_id, status,
         plan_code, current_period_end, provider_updated_at)
       values ($1, $2, 'stripe', $3, $4, 'active', 'standard', now() + interval '30 days', now())`,
      [id, newId(), `cus_${tag}${id.slice(-6)}`, `sub_${tag}${id.slice(-6)}`],
    );
    await client.query(
      `insert into invoices (tenant_id, id, provider, provider_invoice_id, amount_minor, currency, status,
         hosted_invoice_url, issued_at, provider_updated_at)
       values ($1, $2, 'stripe', $3, 9900, 'USD', 'paid', $4, now(), now())`,
      [id, newId(), `in_${tag}${id.slice(-6)}`, `https://invoice.example.test/${tag}`],
    );
    // Failed, so no export worker of a test's API picks it up.
    await client.query(
      `insert into exports (tenant_id, id, format, status, attempts, failure, created_at)
       values ($1, $2, 'jsonl', 'failed', 3, 'seeded', now())`,
      [id, newId()],
    );
    await client.query(
      `insert into billing_events (tenant_id, id, provider, provider_event_id, type, provider_created_at, payload, outcome)
       values ($1, $2, 'stripe', $3, 'invoice.paid', now(), $4, 'applied')`,
      [id, newId(), `evt_${tag}${id.slice(-6)}`, JSON.stringify({ seeded: tag })],
    );
    await client.query(
      `insert into sso_connections (tenant_id, idp_entity_id, idp_sso_url, idp_certificates)
       values ($1, $2, $3, array['not a certificate: seed only'])`,
      [id, `https://idp.${tag}.example.test`, `https://idp.${tag}.example.test/sso`],
    );
    await client.query(
      `insert into saml_requests (tenant_id, id, relay_key, expires_at)
       values ($1, $2, $3, now() + interval '5 minutes')`,
      [id, `_req-${tag}-${id.slice(-6)}`, randomBytes(16).toString('hex')],
    );
    await client.query(
      `insert into saml_assertions (tenant_id, id, expires_at) values ($1, $2, now() + interval '5 minutes')`,
      [id, `_assertion-${tag}-${id.slice(-6)}`],
    );
  });
  const emails = [`admin.${tag}.${id.slice(-6)}@example.test`, `sales.${tag}.${id.slice(-6)}@example.test`];
  const userIds = [
    await seedUser(pool, id, { email: emails[0]!, name: `${tag} Admin` }),
    await seedUser(pool, id, { email: emails[1]!, name: `${tag} Seller`, role: 'dealer_sales' }),
  ];
  await inTenant(pool, { tenantId: id }, (client) =>
    client.query(`insert into sso_tests (tenant_id, id, requested_by) values ($1, $2, $3)`, [
      id,
      `_test-${tag}-${id.slice(-6)}`,
      userIds[0],
    ]),
  );
  return { id, slug, storeIds, storeNames, userIds, emails };
}
