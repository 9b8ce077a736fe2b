import { randomBytes } from 'node:crypto';
import type { TestApi } from './api';
import { createGroup, type Group, TEST_PASSWORD } from './group';
import { invitationTokenFor } from './mailbox';
import { multipartFile, TINY_PNG } from './multipart';
import { generateSigningKey } from './saml-idp';
import { SignInClient } from './sign-in';

export const ROLES = [
  'platform_owner',
  'platform_support',
  'dealer_admin',
  'dealer_manager',
  'dealer_sales',
  'dealer_marketing',
] as const;
export type Role = (typeof ROLES)[number];
/** The dealer roles limited to one store of their group (the North store). */
export const STORE_SCOPED_ROLES: readonly Role[] = ['dealer_manager', 'dealer_sales', 'dealer_marketing'];

/** One store's business rows, made through the API by the group's admin. */
export interface StoreRows {
  storeId: string;
  vehicleId: string;
  mediaId: string;
  customerId: string;
  leadId: string;
  dealId: string;
  bookingId: string;
  /** The rows' ids and the values that name them (VIN, customer), not the store's own id or name. */
  values: string[];
}

/** A dealer group with rows in both its stores and the values that would betray it in an answer. */
export interface SeededGroup {
  tenantId: string;
  slug: string;
  /** Its admin's and scoped members' user ids by role (dealer roles only). */
  userIds: Partial<Record<Role, string>>;
  north: StoreRows;
  south: StoreRows;
  supportGrantId: string;
  ssoTestId: string;
  invitationId: string;
  /** Every id, name, e-mail and VIN seeded for this group: none may reach another group's caller. */
  values: string[];
}

/** Two groups; every role signed in, the dealer roles as members of `home`. */
export interface TwoTenants {
  tokens: Record<Role, string>;
  userIds: Record<Role, string>;
  home: SeededGroup;
  foreign: SeededGroup;
}

const DEALER_MEMBERS = ['dealer_manager', 'dealer_sales', 'dealer_marketing'] as const;

/**
 * Two dealer groups made through the real API, as people would make them (see createGroup), each
 * with a vehicle and photo, customer, lead, message, deal, booking, support grant and SSO test in
 * each of its two stores; the manager, salesperson and marketer of each group work in its North
 * store only. Every distinctive value carries the group's tag, so an answer that carries one is
 * found by a text search. `api` must run with `MAIL_DIR` set to `mailDir`.
 */
export async function createTwoTenants(api: TestApi, mailDir: string): Promise<TwoTenants> {
  const groups: Group[] = [];
  for (const tag of ['home', 'foreign']) {
    const slug = `${tag}-${randomBytes(3).toString('hex')}`;
    groups.push(
      await createGroup(api, mailDir, {
        slug,
        stores: [`${slug} North`, `${slug} South`],
        members: DEALER_MEMBERS.map((role) => ({
          email: `${role}@${slug}.test`,
          role,
          stores: [`${slug} North`],
        })),
      }),
    );
  }
  const [homeGroup, foreignGroup] = groups as [Group, Group];
  const ownerToken = homeGroup.ownerToken;
  const support = await platformSupport(api, mailDir, ownerToken);
  // The groups' support grants are asked for by a second support person, none of the roles walked:
  // approving one (as a test may) then opens the group to nobody who is walked.
  const requester = await platformSupport(api, mailDir, ownerToken);
  const home = await seedGroup(api, homeGroup, requester.token);
  const foreign = await seedGroup(api, foreignGroup, requester.token);
  const homeSlug = slugOf(homeGroup);
  const tokens = {
    platform_owner: ownerToken,
    platform_support: support.token,
    dealer_admin: homeGroup.tokens[`admin@${homeSlug}.test`]!,
    ...Object.fromEntries(
      DEALER_MEMBERS.map((role) => [role, homeGroup.tokens[`${role}@${homeSlug}.test`]!]),
    ),
  } as Record<Role, string>;
  const client = new SignInClient(api.app);
  const userIds = {} as Record<Role, string>;
  for (const role of Object.keys(tokens) as Role[]) {
    userIds[role] = ((await client.get('/v1/auth/me', tokens[role])).body.user as { id: string }).id;
  }
  return { tokens, userIds, home, foreign };
}

function slugOf(group: Group): string {
  const admin = Object.keys(group.tokens).find((email) => email.startsWith('admin@'))!;
  return admin.slice('admin@'.length, -'.test'.length);
}

async function platformSupport(
  api: TestApi,
  mailDir: string,
  ownerToken: string,
): Promise<{ token: string }> {
  const email = `support-${randomBytes(3).toString('hex')}@forecourt.test`;
  const invited = await api.app.inject({
    method: 'POST',
    url: '/v1/platform/staff/invitations',
    payload: { email, role: 'platform_support' },
    headers: { authorization: `Bearer ${ownerToken}` },
  });
  if (invited.statusCode !== 201) throw new Error(`staff invitation refused: ${invited.body}`);
  const client = new SignInClient(api.app);
  await client.post('/v1/auth/invitations/accept', {
    token: invitationTokenFor(mailDir, email),
    name: 'Sue Support',
    password: TEST_PASSWORD,
  });
  return { token: (await client.enroll(email, TEST_PASSWORD)).token };
}

const VIN_CHARS = 'ABCDEFGHJKLMNPRSTUVWXYZ0123456789';
/** A European VIN (no check digit), random enough to be unique in a run. */
function randomVin(): string {
  const bytes = randomBytes(14);
  return `WVW${[...bytes].map((byte) => VIN_CHARS[byte % VIN_CHARS.length]).join('')}`;
}

let slot = 0;
function nextSlot(): { startsAt: string; endsAt: string } {
  const start = Date.UTC(2031, 0, 1) + slot++ * 3_600_000;
  return { startsAt: new Date(start).toISOString(), endsAt: new Date(start + 1_800_000).toISOString() };
}

async function seedGroup(api: TestApi, group: Group, supportToken: string): Promise<SeededGroup> {
  const slug = slugOf(group);
  const adminEmail = `admin@${slug}.test`;
  const base = `/v1/tenants/${group.tenantId}`;
  const as = async (token: string, method: 'POST' | 'PUT' | 'PATCH', url: string, payload: object) => {
    const response = await api.app.inject({
      method,
      url,
      payload,
      headers: { authorization: `Bearer ${token}` },
    });
    if (response.statusCode >= 300) throw new Error(`${method} ${url} answered ${response.body}`);
    return response.json<Record<string, unknown> & { id: string }>();
  };
  const admin = (method: 'POST' | 'PUT' | 'PATCH', path: string, payload: object) =>
    as(group.tokens[adminEmail]!, method, `${base}${path}`, payload);
  const values: string[] = [group.tenantId, slug, adminEmail];
  const userIds: Partial<Record<Role, string>> = { dealer_admin: group.userIds[adminEmail]! };
  for (const role of DEALER_MEMBERS) userIds[role] = group.userIds[`${role}@${slug}.test`]!;
  values.push(...Object.values(group.userIds), ...Object.keys(group.userIds));

  const rowsIn = async (storeName: string, assignee: string): Promise<StoreRows> => {
    const storeId = group.storeIds[storeName]!;
    const vin = randomVin();
    const vehicle = await admin('POST', '/vehicles', {
      storeId,
      vin,
      year: 2021,
      make: 'Volkswagen',
      model: `${slug} Golf`,
      mileage: 10,
      priceMinor: 1_900_000,
      currency: 'EUR',
    });
    const upload = multipartFile(TINY_PNG);
    const media = await api.app.inject({
      method: 'POST',
      url: `${base}/vehicles/${vehicle.id}/media`,
      payload: upload.payload,
      headers: { ...upload.headers, authorization: `Bearer ${group.tokens[adminEmail]!}` },
    });
    if (media.statusCode !== 201) throw new Error(`upload answered ${media.body}`);
    const mediaId = media.json<{ id: string }>().id;
    const customerName = `${storeName} Customer`;
    // Lower case: the API stores e-mail addresses lower-cased, and the leak search looks for them as served.
    const customerEmail = `customer-${storeName.replace(/\W/g, '').toLowerCase()}@${slug}.example`;
    const customer = await admin('POST', '/customers', {
      storeId,
      name: customerName,
      email: customerEmail,
      nationalId: `NID-${slug}`,
    });
    const lead = await admin('POST', '/leads', {
      storeId,
      customerId: customer.id,
      vehicleId: vehicle.id,
      source: 'website',
      assignedUserId: assignee,
    });
    await admin('POST', `/leads/${lead.id}/messages`, { body: `Hello from ${slug}` });
    const deal = await admin('POST', '/deals', {
      storeId,
      customerId: customer.id,
      vehicleId: vehicle.id,
      priceMinor: 1_800_000,
      currency: 'EUR',
      assignedUserId: assignee,
    });
    const booking = await admin('POST', '/bookings', {
      leadId: lead.id,
      kind: 'appointment',
      assignedUserId: assignee,
      ...nextSlot(),
    });
    const rowValues = [vin, vehicle.id, mediaId, customer.id, customerName, customerEmail, lead.id, deal.id];
    rowValues.push(booking.id);
    values.push(storeId, storeName, ...rowValues, `Hello from ${slug}`, `NID-${slug}`);
    return {
      values: rowValues,
      storeId,
      vehicleId: vehicle.id,
      mediaId,
      customerId: customer.id,
      leadId: lead.id,
      dealId: deal.id,
      bookingId: booking.id,
    };
  };
  const north = await rowsIn(`${slug} North`, userIds.dealer_sales!);
  const south = await rowsIn(`${slug} South`, userIds.dealer_admin!);

  const grant = await as(supportToken, 'POST', '/v1/platform/support-grants', {
    tenantId: group.tenantId,
    reason: `help ${slug}`,
    durationMinutes: 30,
    scope: 'read',
  });
  const signing = generateSigningKey(`${slug}-idp`);
  await admin('PUT', '/sso/saml', {
    idpEntityId: `https://idp.${slug}.example.test`,
    idpSsoUrl: `https://idp.${slug}.example.test/sso`,
    idpCertificates: [signing.certificatePem],
    enforce: false,
    roleMapping: [],
    defaultRole: null,
  });
  const ssoTest = await admin('POST', '/sso/saml/test', {});
  const invitation = await admin('POST', '/invitations', {
    email: `invited@${slug}.test`,
    role: 'dealer_sales',
    allStores: true,
  });
  values.push(grant.id, ssoTest.id, invitation.id, `invited@${slug}.test`, `idp.${slug}.example.test`);
  return {
    tenantId: group.tenantId,
    slug,
    userIds,
    north,
    south,
    supportGrantId: grant.id,
    ssoTestId: ssoTest.id,
    invitationId: invitation.id,
    values: [...new Set(values)],
  };
}
