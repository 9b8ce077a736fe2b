import { Pool } from 'pg';
import { Sessions } from '@forecourt/auth';
import { startTestApi, type TestApi } from './api';
import { seedTenant, type SeededTenant } from './seed';

/** The platform's tenant id: where an event about a tenant Forecourt does not know is stored. */
export const PLATFORM_TENANT_ID = '00000000-0000-0000-0000-000000000000';

/** What a webhook spec needs: the API, an owner pool to look at rows, a tenant and its admin's token. */
export interface BillingFixture {
  api: TestApi;
  owner: Pool;
  tenant: SeededTenant;
  adminToken: string;
}

/**
 * Boots the API with the given webhook secrets and seeds one tenant that starts without a
 * subscription (the seed gives every tenant one), as a new customer does.
 */
export async function startBillingFixture(
  env: Record<string, string>,
  slug: string,
): Promise<BillingFixture> {
  const api = await startTestApi({ env });
  const owner = new Pool({ connectionString: api.db.adminUrl, max: 2 });
  const runtime = new Pool({ connectionString: api.db.runtimeUrl, max: 1 });
  const tenant = await seedTenant(runtime, slug);
  await runtime.end();
  await owner.query('delete from subscriptions where tenant_id = $1', [tenant.id]);
  const adminToken = (await api.app.get(Sessions).issue(tenant.userIds[0]!)).token;
  return { api, owner, tenant, adminToken };
}

export async function closeBillingFixture({ api, owner }: BillingFixture): Promise<void> {
  await owner.end();
  await api.close();
}

/** `GET billing/subscription` as the tenant's dealer_admin. */
export async function currentSubscription({ api, tenant, adminToken }: BillingFixture) {
  const response = await api.app.inject({
    method: 'GET',
    url: `/v1/tenants/${tenant.id}/billing/subscription`,
    headers: { authorization: `Bearer ${adminToken}` },
  });
  return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
}

/** The stored rows of one provider event: where it was stored and what receiving it did. */
export async function storedBillingEvents(
  { owner }: BillingFixture,
  provider: 'stripe' | 'razorpay',
  eventId: string,
): Promise<{ tenant_id: string; outcome: string }[]> {
  const { rows } = await owner.query<{ tenant_id: string; outcome: string }>(
    'select tenant_id, outcome from billing_events where provider = $1 and provider_event_id = $2',
    [provider, eventId],
  );
  return rows;
}

/**
 * Every row of the billing tables as stored (the event payloads included), each as JSON text
 * with the UUIDs taken out, for a card-number scan: ids are never card numbers, yet hyphen-joined
 * digit groups can pass the Luhn check (the platform's all-zero tenant id does).
 */
export async function billingTableTexts({ owner }: BillingFixture): Promise<string[]> {
  const texts: string[] = [];
  for (const table of ['billing_events', 'invoices', 'subscriptions']) {
    const { rows } = await owner.query<{ row: string }>(`select row_to_json(t)::text as row from ${table} t`);
    texts.push(...rows.map((row) => row.row.replace(/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}/gi, '<id>')));
  }
  return texts;
}
