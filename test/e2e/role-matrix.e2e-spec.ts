import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { PlatformOwners } from '@forecourt/auth';
import { declaredPermission } from '@forecourt/authz';
import { TenantDeletions } from '@forecourt/lifecycle';
import {
  generateSigningKey,
  invitationTokenFor,
  multipartFile,
  SignInClient,
  startStripeServer,
  startTestApi,
  type StripeTestServer,
  TestApi,
  TINY_PNG,
} from '@forecourt/test-harness';

/**
 * The role matrix walked through the real HTTP API, cell by cell, for every route that declares
 * a permission. The expectations below are written out by hand from DESIGN §3 — not derived from
 * the matrix data — so a wrong rule in the data fails here. A route with no row here fails the
 * coverage check: a new endpoint brings its own expectations.
 */

const PASSWORD = 'correct horse battery staple';
const ROLES = [
  'platform_owner',
  'platform_support',
  'dealer_admin',
  'dealer_manager',
  'dealer_sales',
  'dealer_marketing',
] as const;
type Role = (typeof ROLES)[number];
type Expected = Record<Role, number>;

/** Everyone but the platform owner is refused (403); nobody is a stranger here. */
const OWNER_ONLY: Expected = {
  platform_owner: 200,
  platform_support: 403,
  dealer_admin: 403,
  dealer_manager: 403,
  dealer_sales: 403,
  dealer_marketing: 403,
};
/** Inside tenant A: platform staff without a grant do not see it exists (404); only its admin may. */
const ADMIN_ONLY: Expected = {
  platform_owner: 404,
  platform_support: 404,
  dealer_admin: 200,
  dealer_manager: 403,
  dealer_sales: 403,
  dealer_marketing: 403,
};
const EVERY_MEMBER: Expected = {
  ...ADMIN_ONLY,
  dealer_manager: 200,
  dealer_sales: 200,
  dealer_marketing: 200,
};

/** Vehicles and their media: managed by the admin and, in scope, a manager; read by everyone else in scope. */
const MANAGES_INVENTORY: Expected = {
  ...ADMIN_ONLY,
  dealer_manager: 200,
};

/** Customers: created and changed by sales too, in scope; marketing only reads, without PII. */
const WORKS_WITH_CUSTOMERS: Expected = {
  ...MANAGES_INVENTORY,
  dealer_sales: 200,
};

interface Fixture {
  tenantA: string;
  tenantB: string;
  storeIn: string;
  storeOut: string;
  ids: Record<Role, string>;
  victimId: string;
}

type Request = {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  body?: object;
  /** A raw body (a multipart upload) with its own headers, instead of JSON. */
  raw?: { payload: Buffer; headers: Record<string, string> };
};

interface Case {
  /** `METHOD /path/:param`, exactly as the route is registered. */
  route: string;
  /** The concrete request; `tenant` is tenant A unless the case says otherwise. */
  request: (fixture: Fixture, tenant: string) => Request | Promise<Request>;
  /** On tenant B (a tenant the dealer roles are strangers to): 404 for every role unless said here. */
  foreign?: Partial<Expected>;
  expected: Expected;
  /** A success status other than 200 (the table says 200 for "allowed"). */
  successStatus?: number;
  /** Skips the foreign-tenant replay (platform routes have no tenant). */
  platform?: boolean;
}

const SSO_CERTIFICATE = generateSigningKey('role-matrix-idp');

const CASES: Case[] = [
  {
    route: 'POST /v1/platform/tenants',
    platform: true,
    request: () => ({
      method: 'POST',
      url: '/v1/platform/tenants',
      body: {
        name: 'New Group',
        slug: `new-${Math.random().toString(36).slice(2, 10)}`,
        adminEmail: 'x@new.test',
      },
    }),
    expected: OWNER_ONLY,
    successStatus: 201,
  },
  {
    route: 'GET /v1/platform/tenants',
    platform: true,
    request: () => ({ method: 'GET', url: '/v1/platform/tenants' }),
    expected: { ...OWNER_ONLY, platform_support: 200 },
  },
  {
    route: 'POST /v1/platform/staff/invitations',
    platform: true,
    request: () => ({
      method: 'POST',
      url: '/v1/platform/staff/invitations',
      body: {
        email: `staff-${Math.random().toString(36).slice(2, 8)}@forecourt.test`,
        role: 'platform_support',
      },
    }),
    expected: OWNER_ONLY,
    successStatus: 201,
  },
  {
    route: 'GET /v1/platform/audit-events',
    platform: true,
    request: () => ({ method: 'GET', url: '/v1/platform/audit-events' }),
    // platform_support reads only the events it caused (checked below).
    expected: { ...OWNER_ONLY, platform_support: 200 },
  },
  ...['verify', 'export', 'checkpoints'].map((path): Case => ({
    route: `GET /v1/platform/audit-events/${path}`,
    platform: true,
    request: () => ({ method: 'GET', url: `/v1/platform/audit-events/${path}` }),
    expected: OWNER_ONLY,
  })),
  {
    route: 'POST /v1/platform/audit-events/checkpoints',
    platform: true,
    request: () => ({ method: 'POST', url: '/v1/platform/audit-events/checkpoints' }),
    expected: OWNER_ONLY,
  },
  {
    route: 'POST /v1/platform/backups',
    platform: true,
    request: () => ({ method: 'POST', url: '/v1/platform/backups' }),
    expected: OWNER_ONLY,
    successStatus: 202,
  },
  {
    route: 'GET /v1/platform/backups',
    platform: true,
    request: () => ({ method: 'GET', url: '/v1/platform/backups' }),
    // platform_support reads the status fields only (test/e2e/backup-api.e2e-spec.ts).
    expected: { ...OWNER_ONLY, platform_support: 200 },
  },
  {
    route: 'GET /v1/platform/plans',
    platform: true,
    request: () => ({ method: 'GET', url: '/v1/platform/plans' }),
    expected: OWNER_ONLY,
  },
  {
    route: 'POST /v1/platform/plans',
    platform: true,
    request: () => ({
      method: 'POST',
      url: '/v1/platform/plans',
      body: { ...PLAN_INPUT, code: `plan-${Math.random().toString(36).slice(2, 10)}` },
    }),
    expected: OWNER_ONLY,
    successStatus: 201,
  },
  {
    route: 'PUT /v1/platform/plans/:code',
    platform: true,
    request: async () => {
      await withPlan('matrix');
      return { method: 'PUT', url: '/v1/platform/plans/matrix', body: PLAN_INPUT };
    },
    expected: OWNER_ONLY,
  },
  {
    route: 'GET /v1/tenants/:tenantId/billing/invoices',
    request: (_f, tenant) => ({ method: 'GET', url: `/v1/tenants/${tenant}/billing/invoices` }),
    // Invoices are the dealer admin's; platform staff see them only through their own routes.
    expected: ADMIN_ONLY,
  },
  {
    route: 'GET /v1/tenants/:tenantId/billing/subscription',
    request: async (_f, tenant) => {
      await withSubscription(tenant);
      return { method: 'GET', url: `/v1/tenants/${tenant}/billing/subscription` };
    },
    // Billing control is the dealer admin's; platform staff see it only through their own routes.
    expected: ADMIN_ONLY,
  },
  {
    route: 'POST /v1/tenants/:tenantId/billing/portal',
    request: async (_f, tenant) => {
      await withSubscription(tenant);
      return { method: 'POST', url: `/v1/tenants/${tenant}/billing/portal`, body: {} };
    },
    // Allowed means a link from the fake Stripe API this app talks to (beforeAll), not a 503.
    expected: ADMIN_ONLY,
  },
  {
    route: 'POST /v1/tenants/:tenantId/cancel',
    request: async (_f, tenant) => {
      // Paid a year ahead: the cancelled tenant keeps full access, so the cases after this one hold.
      await asTenantOwner(
        `update tenants set status = 'active', billing_period_end = now() + interval '1 year' where id = $1`,
        [tenant],
      );
      return { method: 'POST', url: `/v1/tenants/${tenant}/cancel` };
    },
    expected: ADMIN_ONLY,
  },
  {
    route: 'POST /v1/platform/tenants/:id/restore',
    platform: true,
    request: async (f) => {
      await asTenantOwner(
        `update tenants set status = 'cancelled', cancelled_at = now(), billing_period_end = now() + interval '1 year'
          where id = $1`,
        [f.tenantA],
      );
      return { method: 'POST', url: `/v1/platform/tenants/${f.tenantA}/restore` };
    },
    expected: OWNER_ONLY,
  },
  {
    route: 'POST /v1/platform/tenants/:id/deletion',
    platform: true,
    request: async () => {
      const id = await throwawayTenant();
      return {
        method: 'POST',
        url: `/v1/platform/tenants/${id}/deletion`,
        body: { reason: 'matrix', confirm: id },
      };
    },
    expected: OWNER_ONLY,
  },
  {
    route: 'GET /v1/platform/tenants/:id/deletion',
    platform: true,
    request: async (f) => {
      const id = await throwawayTenant();
      const deletions = api.app.get(TenantDeletions);
      await deletions.begin(id, { reason: 'matrix', requestedBy: f.ids.platform_owner, dueAt: null });
      await deletions.finish(id);
      return { method: 'GET', url: `/v1/platform/tenants/${id}/deletion` };
    },
    expected: OWNER_ONLY,
  },
  {
    route: 'POST /v1/tenants/:tenantId/stores',
    request: (_f, tenant) => ({
      method: 'POST',
      url: `/v1/tenants/${tenant}/stores`,
      body: { name: `Store ${Math.random().toString(36).slice(2, 8)}` },
    }),
    expected: ADMIN_ONLY,
    successStatus: 201,
  },
  {
    route: 'GET /v1/tenants/:tenantId/stores',
    request: (_f, tenant) => ({ method: 'GET', url: `/v1/tenants/${tenant}/stores` }),
    expected: EVERY_MEMBER,
  },
  {
    route: 'POST /v1/tenants/:tenantId/invitations',
    request: (_f, tenant) => ({
      method: 'POST',
      url: `/v1/tenants/${tenant}/invitations`,
      body: {
        email: `inv-${Math.random().toString(36).slice(2, 8)}@a.test`,
        role: 'dealer_sales',
        allStores: true,
      },
    }),
    expected: ADMIN_ONLY,
    successStatus: 201,
  },
  {
    route: 'GET /v1/tenants/:tenantId/users',
    request: (_f, tenant) => ({ method: 'GET', url: `/v1/tenants/${tenant}/users` }),
    expected: EVERY_MEMBER, // sales and marketing see only themselves (checked below)
  },
  {
    route: 'GET /v1/tenants/:tenantId/users/:userId',
    // Another person's record: colleagues' for a manager, never for sales or marketing.
    request: (f, tenant) => ({ method: 'GET', url: `/v1/tenants/${tenant}/users/${f.ids.dealer_admin}` }),
    expected: { ...EVERY_MEMBER, dealer_sales: 404, dealer_marketing: 404 },
  },
  {
    route: 'PATCH /v1/tenants/:tenantId/users/:userId',
    request: (f, tenant) => ({
      method: 'PATCH',
      url: `/v1/tenants/${tenant}/users/${f.victimId}`,
      body: { role: 'dealer_marketing' },
    }),
    expected: ADMIN_ONLY,
  },
  {
    route: 'POST /v1/tenants/:tenantId/users/:userId/revoke-sessions',
    request: (f, tenant) => ({
      method: 'POST',
      url: `/v1/tenants/${tenant}/users/${f.victimId}/revoke-sessions`,
    }),
    expected: ADMIN_ONLY,
    successStatus: 204,
  },
  ...['', '/verify', '/export', '/checkpoints'].map((path): Case => ({
    route: `GET /v1/tenants/:tenantId/audit-events${path}`,
    request: (_f, tenant) => ({ method: 'GET', url: `/v1/tenants/${tenant}/audit-events${path}` }),
    expected: ADMIN_ONLY,
  })),
  {
    route: 'POST /v1/tenants/:tenantId/audit-events/checkpoints',
    request: (_f, tenant) => ({ method: 'POST', url: `/v1/tenants/${tenant}/audit-events/checkpoints` }),
    expected: ADMIN_ONLY,
  },
  // The SSO connection is part of the tenant's settings: its admin's alone. PUT comes first, so the
  // GET finds a connection.
  {
    route: 'PUT /v1/tenants/:tenantId/sso/saml',
    request: (_f, tenant) => ({
      method: 'PUT',
      url: `/v1/tenants/${tenant}/sso/saml`,
      body: {
        idpEntityId: 'https://idp.matrix.example.test',
        idpSsoUrl: 'https://idp.matrix.example.test/sso',
        idpCertificates: [SSO_CERTIFICATE.certificatePem],
        enforce: false,
        roleMapping: [],
        defaultRole: null,
      },
    }),
    expected: ADMIN_ONLY,
  },
  {
    route: 'GET /v1/tenants/:tenantId/sso/saml',
    request: (_f, tenant) => ({ method: 'GET', url: `/v1/tenants/${tenant}/sso/saml` }),
    expected: ADMIN_ONLY,
  },
  {
    route: 'POST /v1/tenants/:tenantId/sso/saml/test',
    request: (_f, tenant) => ({ method: 'POST', url: `/v1/tenants/${tenant}/sso/saml/test` }),
    expected: ADMIN_ONLY,
    successStatus: 201,
  },
  {
    route: 'GET /v1/tenants/:tenantId/sso/saml/test/:testId',
    request: async (f, tenant) => ({
      method: 'GET',
      url: `/v1/tenants/${tenant}/sso/saml/test/${await ssoTestIn(f)}`,
    }),
    expected: ADMIN_ONLY,
  },
  {
    route: 'GET /v1/tenants/:tenantId/sso/saml/failures',
    request: (_f, tenant) => ({ method: 'GET', url: `/v1/tenants/${tenant}/sso/saml/failures` }),
    expected: ADMIN_ONLY,
  },
  {
    route: 'POST /v1/platform/support-grants',
    platform: true,
    request: (f) => ({
      method: 'POST',
      url: '/v1/platform/support-grants',
      body: { tenantId: f.tenantA, reason: 'a customer asked for help', durationMinutes: 30, scope: 'read' },
    }),
    expected: { ...OWNER_ONLY, platform_support: 200 },
    successStatus: 201,
  },
  {
    route: 'GET /v1/tenants/:tenantId/support-grants',
    request: (_f, tenant) => ({ method: 'GET', url: `/v1/tenants/${tenant}/support-grants` }),
    // Platform roles manage grants in every tenant (support: only the ones it asked for).
    expected: { ...ADMIN_ONLY, platform_owner: 200, platform_support: 200 },
    foreign: { platform_owner: 200, platform_support: 200 },
  },
  {
    route: 'POST /v1/tenants/:tenantId/support-grants/:id/approve',
    request: async (f, tenant) => ({
      method: 'POST',
      url: `/v1/tenants/${tenant}/support-grants/${await pendingGrant(f)}/approve`,
    }),
    // The owner's approval is break-glass; support never approves.
    expected: { ...ADMIN_ONLY, platform_owner: 200, platform_support: 403 },
    foreign: { platform_support: 403 },
  },
  {
    route: 'DELETE /v1/tenants/:tenantId/support-grants/:id',
    request: async (f, tenant) => ({
      method: 'DELETE',
      url: `/v1/tenants/${tenant}/support-grants/${await pendingGrant(f)}`,
    }),
    expected: { ...ADMIN_ONLY, platform_owner: 200, platform_support: 403 },
    foreign: { platform_support: 403 },
    successStatus: 204,
  },
  {
    route: 'GET /v1/tenants/:tenantId/access/explain',
    request: (f, tenant) => ({
      method: 'GET',
      url: `/v1/tenants/${tenant}/access/explain?userId=${f.ids.dealer_sales}&action=read&subject=User`,
    }),
    expected: { ...ADMIN_ONLY, platform_owner: 200, platform_support: 403 },
    foreign: { platform_owner: 200, platform_support: 403 },
  },
  {
    route: 'POST /v1/tenants/:tenantId/vehicles',
    request: (f, tenant) => ({
      method: 'POST',
      url: `/v1/tenants/${tenant}/vehicles`,
      body: newVehicleBody(f.storeIn),
    }),
    expected: MANAGES_INVENTORY,
    successStatus: 201,
  },
  {
    route: 'GET /v1/tenants/:tenantId/vehicles',
    request: (_f, tenant) => ({ method: 'GET', url: `/v1/tenants/${tenant}/vehicles` }),
    expected: EVERY_MEMBER,
  },
  {
    route: 'GET /v1/tenants/:tenantId/vehicles/:vehicleId',
    request: async (f, tenant) => ({
      method: 'GET',
      url: `/v1/tenants/${tenant}/vehicles/${await vehicleIn(f)}`,
    }),
    expected: EVERY_MEMBER,
  },
  {
    route: 'PATCH /v1/tenants/:tenantId/vehicles/:vehicleId',
    request: async (f, tenant) => ({
      method: 'PATCH',
      url: `/v1/tenants/${tenant}/vehicles/${await vehicleIn(f)}`,
      body: { mileage: 1234 },
    }),
    expected: MANAGES_INVENTORY,
  },
  {
    route: 'DELETE /v1/tenants/:tenantId/vehicles/:vehicleId',
    request: async (f, tenant) => ({
      method: 'DELETE',
      url: `/v1/tenants/${tenant}/vehicles/${await vehicleIn(f)}`,
    }),
    expected: MANAGES_INVENTORY,
    successStatus: 204,
  },
  {
    route: 'POST /v1/tenants/:tenantId/vehicles/:vehicleId/media',
    request: async (f, tenant) => ({
      method: 'POST',
      url: `/v1/tenants/${tenant}/vehicles/${await vehicleIn(f)}/media`,
      raw: multipartFile(TINY_PNG),
    }),
    expected: MANAGES_INVENTORY,
    successStatus: 201,
  },
  {
    route: 'GET /v1/tenants/:tenantId/vehicles/:vehicleId/media',
    request: async (f, tenant) => ({
      method: 'GET',
      url: `/v1/tenants/${tenant}/vehicles/${await vehicleIn(f)}/media`,
    }),
    expected: EVERY_MEMBER,
  },
  {
    route: 'GET /v1/tenants/:tenantId/vehicles/:vehicleId/media/:mediaId',
    request: async (f, tenant) => {
      const { vehicleId, mediaId } = await mediumIn(f);
      return { method: 'GET', url: `/v1/tenants/${tenant}/vehicles/${vehicleId}/media/${mediaId}` };
    },
    expected: EVERY_MEMBER,
  },
  {
    route: 'DELETE /v1/tenants/:tenantId/vehicles/:vehicleId/media/:mediaId',
    request: async (f, tenant) => {
      const { vehicleId, mediaId } = await mediumIn(f);
      return { method: 'DELETE', url: `/v1/tenants/${tenant}/vehicles/${vehicleId}/media/${mediaId}` };
    },
    expected: MANAGES_INVENTORY,
    successStatus: 204,
  },
  {
    route: 'POST /v1/tenants/:tenantId/customers',
    request: (f, tenant) => ({
      method: 'POST',
      url: `/v1/tenants/${tenant}/customers`,
      body: { storeId: f.storeIn, name: 'Casey Customer', nationalId: 'ID-123' },
    }),
    expected: WORKS_WITH_CUSTOMERS,
    successStatus: 201,
  },
  {
    route: 'GET /v1/tenants/:tenantId/customers',
    request: (_f, tenant) => ({ method: 'GET', url: `/v1/tenants/${tenant}/customers` }),
    expected: EVERY_MEMBER, // marketing without personal data (checked below)
  },
  {
    route: 'GET /v1/tenants/:tenantId/customers/:customerId',
    request: async (f, tenant) => ({
      method: 'GET',
      url: `/v1/tenants/${tenant}/customers/${await customerIn(f)}`,
    }),
    expected: EVERY_MEMBER,
  },
  {
    route: 'PATCH /v1/tenants/:tenantId/customers/:customerId',
    request: async (f, tenant) => ({
      method: 'PATCH',
      url: `/v1/tenants/${tenant}/customers/${await customerIn(f)}`,
      body: { notes: 'called back' },
    }),
    expected: WORKS_WITH_CUSTOMERS,
  },
  {
    route: 'GET /v1/tenants/:tenantId/customers/:customerId/consents',
    request: async (f, tenant) => ({
      method: 'GET',
      url: `/v1/tenants/${tenant}/customers/${await customerIn(f)}/consents`,
    }),
    expected: EVERY_MEMBER,
  },
  {
    route: 'POST /v1/tenants/:tenantId/customers/:customerId/consents',
    request: async (f, tenant) => ({
      method: 'POST',
      url: `/v1/tenants/${tenant}/customers/${await customerIn(f)}/consents`,
      body: { channel: 'email', purpose: 'marketing', status: 'granted', source: 'showroom form' },
    }),
    expected: WORKS_WITH_CUSTOMERS,
    successStatus: 201,
  },
  {
    route: 'POST /v1/tenants/:tenantId/leads',
    request: async (f, tenant) => ({
      method: 'POST',
      url: `/v1/tenants/${tenant}/leads`,
      body: { storeId: f.storeIn, customerId: await customerIn(f), source: 'website' },
    }),
    expected: WORKS_WITH_CUSTOMERS,
    successStatus: 201,
  },
  {
    route: 'GET /v1/tenants/:tenantId/leads',
    request: (_f, tenant) => ({ method: 'GET', url: `/v1/tenants/${tenant}/leads` }),
    expected: EVERY_MEMBER, // sales: only their own; marketing: without contact details (checked below)
  },
  {
    route: 'GET /v1/tenants/:tenantId/leads/:leadId',
    // A lead assigned to the salesperson walked here.
    request: async (f, tenant) => ({ method: 'GET', url: `/v1/tenants/${tenant}/leads/${await leadIn(f)}` }),
    expected: EVERY_MEMBER,
  },
  {
    route: 'PATCH /v1/tenants/:tenantId/leads/:leadId',
    request: async (f, tenant) => ({
      method: 'PATCH',
      url: `/v1/tenants/${tenant}/leads/${await leadIn(f)}`,
      body: { status: 'contacted' },
    }),
    expected: WORKS_WITH_CUSTOMERS,
  },
  {
    route: 'POST /v1/tenants/:tenantId/leads/:leadId/assign',
    request: async (f, tenant) => ({
      method: 'POST',
      url: `/v1/tenants/${tenant}/leads/${await leadIn(f)}/assign`,
      body: { userId: f.ids.dealer_manager },
    }),
    expected: MANAGES_INVENTORY, // admin and manager; sales may not hand leads around
  },
  {
    route: 'POST /v1/tenants/:tenantId/deals',
    request: async (f, tenant) => ({
      method: 'POST',
      url: `/v1/tenants/${tenant}/deals`,
      body: {
        storeId: f.storeIn,
        customerId: await customerIn(f),
        vehicleId: await vehicleIn(f),
        priceMinor: 1_800_000,
        currency: 'EUR',
      },
    }),
    expected: WORKS_WITH_CUSTOMERS,
    successStatus: 201,
  },
  {
    route: 'GET /v1/tenants/:tenantId/deals',
    request: (_f, tenant) => ({ method: 'GET', url: `/v1/tenants/${tenant}/deals` }),
    expected: EVERY_MEMBER,
  },
  {
    route: 'GET /v1/tenants/:tenantId/deals/:dealId',
    request: async (f, tenant) => ({ method: 'GET', url: `/v1/tenants/${tenant}/deals/${await dealIn(f)}` }),
    expected: EVERY_MEMBER,
  },
  {
    route: 'PATCH /v1/tenants/:tenantId/deals/:dealId',
    request: async (f, tenant) => ({
      method: 'PATCH',
      url: `/v1/tenants/${tenant}/deals/${await dealIn(f)}`,
      body: { priceMinor: 1_700_000 },
    }),
    expected: WORKS_WITH_CUSTOMERS,
  },
  {
    route: 'POST /v1/tenants/:tenantId/leads/:leadId/messages',
    request: async (f, tenant) => ({
      method: 'POST',
      url: `/v1/tenants/${tenant}/leads/${await leadIn(f)}/messages`,
      body: { body: 'Thanks for visiting' },
    }),
    expected: { ...WORKS_WITH_CUSTOMERS, dealer_marketing: 403 },
    successStatus: 201,
  },
  {
    route: 'GET /v1/tenants/:tenantId/leads/:leadId/messages',
    request: async (f, tenant) => ({
      method: 'GET',
      url: `/v1/tenants/${tenant}/leads/${await leadIn(f)}/messages`,
    }),
    expected: { ...WORKS_WITH_CUSTOMERS, dealer_marketing: 403 }, // bodies: never for marketing
  },
  {
    route: 'POST /v1/tenants/:tenantId/bookings',
    request: async (f, tenant) => ({
      method: 'POST',
      url: `/v1/tenants/${tenant}/bookings`,
      body: { leadId: await leadIn(f), kind: 'appointment', ...nextSlot() },
    }),
    expected: WORKS_WITH_CUSTOMERS,
    successStatus: 201,
  },
  {
    route: 'GET /v1/tenants/:tenantId/bookings',
    request: (_f, tenant) => ({ method: 'GET', url: `/v1/tenants/${tenant}/bookings` }),
    expected: EVERY_MEMBER,
  },
  {
    route: 'GET /v1/tenants/:tenantId/bookings/:bookingId',
    request: async (f, tenant) => ({
      method: 'GET',
      url: `/v1/tenants/${tenant}/bookings/${await bookingIn(f)}`,
    }),
    expected: EVERY_MEMBER,
  },
  {
    route: 'PATCH /v1/tenants/:tenantId/bookings/:bookingId',
    request: async (f, tenant) => ({
      method: 'PATCH',
      url: `/v1/tenants/${tenant}/bookings/${await bookingIn(f)}`,
      body: { status: 'cancelled' },
    }),
    expected: WORKS_WITH_CUSTOMERS,
  },
  {
    route: 'PUT /v1/tenants/:tenantId/deals/:dealId/bill-of-sale',
    request: async (f, tenant) => ({
      method: 'PUT',
      url: `/v1/tenants/${tenant}/deals/${await signedDealIn(f)}/bill-of-sale`,
      raw: multipartFile(BILL_OF_SALE, { contentType: 'application/pdf', fileName: 'bill.pdf' }),
    }),
    expected: WORKS_WITH_CUSTOMERS,
  },
  {
    route: 'GET /v1/tenants/:tenantId/deals/:dealId/bill-of-sale',
    request: async (f, tenant) => ({
      method: 'GET',
      url: `/v1/tenants/${tenant}/deals/${await signedDealIn(f, { withBillOfSale: true })}/bill-of-sale`,
    }),
    // the document names the customer: not for marketing
    expected: { ...WORKS_WITH_CUSTOMERS, dealer_marketing: 403 },
  },
  {
    route: 'POST /v1/tenants/:tenantId/exports',
    request: (_f, tenant) => ({
      method: 'POST',
      url: `/v1/tenants/${tenant}/exports`,
      body: { format: 'jsonl' },
    }),
    // The tenant's data is its admin's to take; platform staff only with a grant.
    expected: ADMIN_ONLY,
    successStatus: 202,
  },
  {
    route: 'GET /v1/tenants/:tenantId/exports/:exportId',
    request: async (f, tenant) => ({
      method: 'GET',
      url: `/v1/tenants/${tenant}/exports/${await completedExportIn(f)}`,
    }),
    expected: ADMIN_ONLY,
  },
  {
    route: 'GET /v1/tenants/:tenantId/exports/:exportId/download',
    request: async (f, tenant) => ({
      method: 'GET',
      url: `/v1/tenants/${tenant}/exports/${await completedExportIn(f)}/download`,
    }),
    expected: ADMIN_ONLY,
  },
  // Last: it removes the victim.
  {
    route: 'DELETE /v1/tenants/:tenantId/users/:userId',
    request: (f, tenant) => ({ method: 'DELETE', url: `/v1/tenants/${tenant}/users/${f.victimId}` }),
    expected: ADMIN_ONLY,
    successStatus: 204,
  },
];

/**
 * A new pending grant in tenant A, asked for by a second support person (not one of the roles
 * walked here, so approving it changes nobody's access in these cases).
 */
async function pendingGrant(f: Fixture): Promise<string> {
  const response = await api.app.inject({
    method: 'POST',
    url: '/v1/platform/support-grants',
    headers: { authorization: `Bearer ${requesterToken}` },
    payload: { tenantId: f.tenantA, reason: 'a customer asked for help', durationMinutes: 30, scope: 'read' },
  });
  return response.json<{ id: string }>().id;
}
let requesterToken: string;

/** VIN characters (no I, O, Q); European VINs carry no check digit, so any 14 of them follow `WVW`. */
const VIN_CHARS = 'ABCDEFGHJKLMNPRSTUVWXYZ0123456789';
function newVehicleBody(storeId: string) {
  const tail = Array.from({ length: 14 }, () => VIN_CHARS[Math.floor(Math.random() * VIN_CHARS.length)]).join(
    '',
  );
  return {
    storeId,
    vin: `WVW${tail}`,
    year: 2020,
    make: 'Volkswagen',
    model: 'Golf',
    mileage: 10,
    priceMinor: 1_900_000,
    currency: 'EUR',
  };
}

/** A new vehicle of tenant A, in the store every dealer role has in scope (or in `store`). */
async function vehicleIn(f: Fixture, store = f.storeIn): Promise<string> {
  const created = await call('dealer_admin', {
    method: 'POST',
    url: `/v1/tenants/${f.tenantA}/vehicles`,
    body: newVehicleBody(store),
  });
  return (JSON.parse(created.body) as { id: string }).id;
}

/** A new SSO connection test of tenant A (its connection is stored by the PUT row above). */
async function ssoTestIn(f: Fixture): Promise<string> {
  const started = await call('dealer_admin', {
    method: 'POST',
    url: `/v1/tenants/${f.tenantA}/sso/saml/test`,
  });
  return (JSON.parse(started.body) as { id: string }).id;
}

/** A new customer of tenant A in the store every dealer role has in scope (or in `store`). */
async function customerIn(f: Fixture, store = f.storeIn): Promise<string> {
  const created = await call('dealer_admin', {
    method: 'POST',
    url: `/v1/tenants/${f.tenantA}/customers`,
    body: { storeId: store, name: 'Casey Customer', email: 'casey@example.test', nationalId: 'ID-123' },
  });
  return (JSON.parse(created.body) as { id: string }).id;
}

/** A new lead of tenant A in the scoped store, assigned to `assignee` (the salesperson walked here). */
async function leadIn(f: Fixture, assignee = f.ids.dealer_sales): Promise<string> {
  const created = await call('dealer_admin', {
    method: 'POST',
    url: `/v1/tenants/${f.tenantA}/leads`,
    body: {
      storeId: f.storeIn,
      customerId: await customerIn(f),
      source: 'website',
      assignedUserId: assignee,
    },
  });
  return (JSON.parse(created.body) as { id: string }).id;
}

/** A new draft deal of tenant A in the scoped store, taken by `assignee` (the salesperson walked here). */
async function dealIn(f: Fixture, assignee = f.ids.dealer_sales): Promise<string> {
  const created = await call('dealer_admin', {
    method: 'POST',
    url: `/v1/tenants/${f.tenantA}/deals`,
    body: {
      storeId: f.storeIn,
      customerId: await customerIn(f),
      vehicleId: await vehicleIn(f),
      priceMinor: 1_800_000,
      currency: 'EUR',
      assignedUserId: assignee,
    },
  });
  return (JSON.parse(created.body) as { id: string }).id;
}

/** A fresh half-hour in the future (appointments need no vehicle, but distinct times read better). */
let slot = 0;
function nextSlot(): { startsAt: string; endsAt: string } {
  const start = Date.UTC(2030, 0, 1) + slot++ * 3_600_000;
  return { startsAt: new Date(start).toISOString(), endsAt: new Date(start + 1_800_000).toISOString() };
}

/** A new appointment of tenant A on a lead of the salesperson walked here, held by them. */
async function bookingIn(f: Fixture): Promise<string> {
  const created = await call('dealer_admin', {
    method: 'POST',
    url: `/v1/tenants/${f.tenantA}/bookings`,
    body: { leadId: await leadIn(f), kind: 'appointment', assignedUserId: f.ids.dealer_sales, ...nextSlot() },
  });
  return (JSON.parse(created.body) as { id: string }).id;
}

const BILL_OF_SALE = Buffer.from('%PDF-1.7\n% bill of sale\n%%EOF\n');

/** A signed deal of the salesperson walked here (optionally with its bill of sale). */
async function signedDealIn(f: Fixture, options: { withBillOfSale?: boolean } = {}): Promise<string> {
  const dealId = await dealIn(f);
  const url = `/v1/tenants/${f.tenantA}/deals/${dealId}`;
  await call('dealer_admin', { method: 'PATCH', url, body: { status: 'signed' } });
  if (options.withBillOfSale) {
    await call('dealer_admin', {
      method: 'PUT',
      url: `${url}/bill-of-sale`,
      raw: multipartFile(BILL_OF_SALE, { contentType: 'application/pdf', fileName: 'bill.pdf' }),
    });
  }
  return dealId;
}

let completedExport: string | null = null;

/** An export of tenant A that has completed (made once, by its admin). */
async function completedExportIn(f: Fixture): Promise<string> {
  if (completedExport) return completedExport;
  const created = await call('dealer_admin', {
    method: 'POST',
    url: `/v1/tenants/${f.tenantA}/exports`,
    body: { format: 'jsonl' },
  });
  const id = (JSON.parse(created.body) as { id: string }).id;
  for (let waited = 0; waited < 30_000; waited += 100) {
    const state = await call('dealer_admin', {
      method: 'GET',
      url: `/v1/tenants/${f.tenantA}/exports/${id}`,
    });
    if ((JSON.parse(state.body) as { status: string }).status === 'completed') return (completedExport = id);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the export did not complete within 30 s');
}

/** A new vehicle of tenant A with one photo. */
async function mediumIn(f: Fixture, store = f.storeIn): Promise<{ vehicleId: string; mediaId: string }> {
  const vehicleId = await vehicleIn(f, store);
  const uploaded = await call('dealer_admin', {
    method: 'POST',
    url: `/v1/tenants/${f.tenantA}/vehicles/${vehicleId}/media`,
    raw: multipartFile(TINY_PNG),
  });
  return { vehicleId, mediaId: (JSON.parse(uploaded.body) as { id: string }).id };
}

let api: TestApi;
let stripe: StripeTestServer;
let client: SignInClient;

const PLAN_INPUT = { name: 'Matrix plan', pricePerStoreMinor: 4900, currency: 'USD', limits: { stores: 50 } };

/** A plan with `code` (once). */
async function withPlan(code: string): Promise<void> {
  const admin = new Pool({ connectionString: api.db.adminUrl, max: 1 });
  try {
    await admin.query(
      `insert into plans (id, code, name, price_per_store_minor, currency) values ($1, $2, 'Matrix plan', 4900, 'USD')
       on conflict (code) do nothing`,
      [randomUUID(), code],
    );
  } finally {
    await admin.end();
  }
}

/** A statement as the database's administrator (set-up the API has no route for). */
async function asTenantOwner(sql: string, params: unknown[]): Promise<void> {
  const admin = new Pool({ connectionString: api.db.adminUrl, max: 1 });
  try {
    await admin.query(sql, params);
  } finally {
    await admin.end();
  }
}

/** An empty tenant nobody belongs to, for the deletion cases. */
async function throwawayTenant(): Promise<string> {
  const id = randomUUID();
  await asTenantOwner(`insert into tenants (id, slug, name) values ($1, $2, 'Throwaway')`, [
    id,
    `gone-${id.slice(0, 8)}`,
  ]);
  return id;
}

/** A subscription for `tenant`, as the provider's events would have left it (once). */
async function withSubscription(tenant: string): Promise<void> {
  const admin = new Pool({ connectionString: api.db.adminUrl, max: 1 });
  try {
    await admin.query(
      `insert into subscriptions (tenant_id, id, provider, provider_customer_id, provider_subscription_id, status,
         provider_updated_at)
       values ($1, $2, 'stripe', 'cus_matrix', 'sub_matrix', 'active', now()) on conflict (tenant_id) do nothing`,
      [tenant, randomUUID()],
    );
  } finally {
    await admin.end();
  }
}
let mailDir: string;
const tokens = {} as Record<Role, string>;
const fixture = { ids: {} } as Fixture;

async function call(role: Role, request: Omit<Request, 'method'> & { method: string }) {
  const token = tokens[role];
  const response = await api.app.inject({
    method: request.method as 'GET',
    url: request.url,
    payload: request.raw?.payload ?? request.body,
    headers: { ...request.raw?.headers, authorization: `Bearer ${token}` },
  });
  return { status: response.statusCode, body: response.body };
}

async function joinAs(email: string, name: string): Promise<{ token: string; id: string }> {
  const accepted = await client.post('/v1/auth/invitations/accept', {
    token: invitationTokenFor(mailDir, email),
    name,
    password: PASSWORD,
  });
  expect(accepted.status).toBe(200);
  const { token } = await client.enroll(email, PASSWORD);
  const me = await client.get('/v1/auth/me', token);
  return { token, id: (me.body.user as { id: string }).id };
}

beforeAll(async () => {
  mailDir = mkdtempSync(join(tmpdir(), 'forecourt-matrix-'));
  // Routes that call Stripe reach a local server answering like it, so "allowed" is a real answer.
  stripe = await startStripeServer();
  api = await startTestApi({
    env: {
      MAIL_DIR: mailDir,
      AUTH_FAILED_LIMIT: '1000',
      AUTH_ATTEMPT_CEILING: '10000',
      STRIPE_SECRET_KEY: 'sk_test_matrix',
      STRIPE_API_URL: stripe.url,
      EXPORT_POLL_MS: '100',
    },
  });
  client = new SignInClient(api.app);
  await api.app.get(PlatformOwners).create('owner@matrix.test', 'Olive Owner', PASSWORD);
  tokens.platform_owner = (await client.enroll('owner@matrix.test', PASSWORD)).token;
  fixture.ids.platform_owner = (
    (await client.get('/v1/auth/me', tokens.platform_owner)).body.user as { id: string }
  ).id;

  const post = (role: Role, url: string, body: object) => call(role, { method: 'POST', url, body });
  await post('platform_owner', '/v1/platform/staff/invitations', {
    email: 'sue@matrix.test',
    role: 'platform_support',
  });
  ({ token: tokens.platform_support, id: fixture.ids.platform_support } = await joinAs(
    'sue@matrix.test',
    'Sue',
  ));
  await post('platform_owner', '/v1/platform/staff/invitations', {
    email: 'sam@matrix.test',
    role: 'platform_support',
  });
  requesterToken = (await joinAs('sam@matrix.test', 'Sam')).token;

  const tenants: string[] = [];
  for (const slug of ['alpha', 'bravo']) {
    const created = await post('platform_owner', '/v1/platform/tenants', {
      name: slug,
      slug,
      adminEmail: `admin@${slug}.test`,
    });
    tenants.push((JSON.parse(created.body) as { id: string }).id);
  }
  [fixture.tenantA, fixture.tenantB] = tenants as [string, string];
  ({ token: tokens.dealer_admin, id: fixture.ids.dealer_admin } = await joinAs(
    'admin@alpha.test',
    'Ada Admin',
  ));
  await joinAs('admin@bravo.test', 'Bo Admin');

  const store = async (name: string) =>
    (
      JSON.parse((await post('dealer_admin', `/v1/tenants/${fixture.tenantA}/stores`, { name })).body) as {
        id: string;
      }
    ).id;
  fixture.storeIn = await store('In Scope');
  fixture.storeOut = await store('Out of Scope');
  for (const role of ['dealer_manager', 'dealer_sales', 'dealer_marketing'] as const) {
    const email = `${role}@alpha.test`;
    await post('dealer_admin', `/v1/tenants/${fixture.tenantA}/invitations`, {
      email,
      role,
      storeIds: [fixture.storeIn],
    });
    ({ token: tokens[role], id: fixture.ids[role] } = await joinAs(email, role));
  }
  await post('dealer_admin', `/v1/tenants/${fixture.tenantA}/invitations`, {
    email: 'victim@alpha.test',
    role: 'dealer_sales',
    allStores: true,
  });
  fixture.victimId = (await joinAs('victim@alpha.test', 'Vic Victim')).id;
});

afterAll(async () => {
  await api?.close();
  await stripe?.close();
  rmSync(mailDir, { recursive: true, force: true });
});

describe('the role matrix over HTTP', () => {
  for (const testCase of CASES) {
    describe(testCase.route, () => {
      for (const role of ROLES) {
        const expected = testCase.expected[role];
        const status = expected === 200 ? (testCase.successStatus ?? 200) : expected;
        it(`${role}: ${status}`, async () => {
          const response = await call(role, await testCase.request(fixture, fixture.tenantA));
          expect({ role, status: response.status }).toEqual({ role, status });
        });
      }
      if (!testCase.platform) {
        it("every role: 404 on another tenant's copy of the route (unless the platform manages it there)", async () => {
          for (const role of ROLES) {
            const response = await call(role, await testCase.request(fixture, fixture.tenantB));
            const foreign = testCase.foreign?.[role] ?? 404;
            const status = foreign === 200 ? (testCase.successStatus ?? 200) : foreign;
            expect({ role, status: response.status }).toEqual({ role, status });
          }
        });
      }
    });
  }
});

describe('rows inside an allowed route', () => {
  const ids = (body: string) =>
    (JSON.parse(body) as { data: { id: string }[] }).data.map((row) => row.id).sort();

  it('a store-scoped role lists only the stores in its scope; the admin lists all', async () => {
    const url = `/v1/tenants/${fixture.tenantA}/stores`;
    expect(ids((await call('dealer_manager', { method: 'GET', url })).body)).toEqual([fixture.storeIn]);
    expect(ids((await call('dealer_marketing', { method: 'GET', url })).body)).toEqual([fixture.storeIn]);
    expect(ids((await call('dealer_admin', { method: 'GET', url })).body)).toEqual(
      expect.arrayContaining([fixture.storeIn, fixture.storeOut]),
    );
  });

  it('sales and marketing list only their own user record; a manager lists colleagues', async () => {
    const url = `/v1/tenants/${fixture.tenantA}/users`;
    expect(ids((await call('dealer_sales', { method: 'GET', url })).body)).toEqual([
      fixture.ids.dealer_sales,
    ]);
    expect(ids((await call('dealer_marketing', { method: 'GET', url })).body)).toEqual([
      fixture.ids.dealer_marketing,
    ]);
    expect(ids((await call('dealer_manager', { method: 'GET', url })).body)).toContain(
      fixture.ids.dealer_admin,
    );
    const self = await call('dealer_sales', { method: 'GET', url: `${url}/${fixture.ids.dealer_sales}` });
    expect(self.status).toBe(200);
  });

  it('a vehicle (and its media) in a store outside the scope is not there for a store-scoped role', async () => {
    const { vehicleId, mediaId } = await mediumIn(fixture, fixture.storeOut);
    const base = `/v1/tenants/${fixture.tenantA}/vehicles`;
    for (const role of ['dealer_manager', 'dealer_sales', 'dealer_marketing'] as const) {
      const statuses = [
        (await call(role, { method: 'GET', url: `${base}/${vehicleId}` })).status,
        (await call(role, { method: 'GET', url: `${base}/${vehicleId}/media` })).status,
        (await call(role, { method: 'GET', url: `${base}/${vehicleId}/media/${mediaId}` })).status,
      ];
      expect({ role, statuses }).toEqual({ role, statuses: [404, 404, 404] });
      expect(ids((await call(role, { method: 'GET', url: `${base}?limit=200` })).body)).not.toContain(
        vehicleId,
      );
    }
    const manager = [
      (await call('dealer_manager', { method: 'PATCH', url: `${base}/${vehicleId}`, body: { mileage: 1 } }))
        .status,
      (await call('dealer_manager', { method: 'DELETE', url: `${base}/${vehicleId}/media/${mediaId}` }))
        .status,
      (
        await call('dealer_manager', {
          method: 'POST',
          url: `${base}/${vehicleId}/media`,
          raw: multipartFile(TINY_PNG),
        })
      ).status,
      (await call('dealer_manager', { method: 'DELETE', url: `${base}/${vehicleId}` })).status,
    ];
    expect(manager).toEqual([404, 404, 404, 404]);
    expect((await call('dealer_admin', { method: 'GET', url: `${base}/${vehicleId}` })).status).toBe(200);
  });

  it('a customer outside the scope is not there for a store-scoped role; marketing never sees its PII', async () => {
    const outside = await customerIn(fixture, fixture.storeOut);
    const base = `/v1/tenants/${fixture.tenantA}/customers`;
    for (const role of ['dealer_manager', 'dealer_sales', 'dealer_marketing'] as const) {
      expect({
        role,
        status: (await call(role, { method: 'GET', url: `${base}/${outside}` })).status,
      }).toEqual({
        role,
        status: 404,
      });
      expect(ids((await call(role, { method: 'GET', url: `${base}?limit=200` })).body)).not.toContain(
        outside,
      );
    }
    const inside = await customerIn(fixture);
    const seen = JSON.parse(
      (await call('dealer_marketing', { method: 'GET', url: `${base}/${inside}` })).body,
    ) as object;
    expect(Object.keys(seen).sort()).toEqual(['consents', 'createdAt', 'id', 'storeId']);
    const full = JSON.parse(
      (await call('dealer_sales', { method: 'GET', url: `${base}/${inside}` })).body,
    ) as object;
    expect(full).toMatchObject({ name: 'Casey Customer', email: 'casey@example.test', nationalId: 'ID-123' });
  });

  it('sales reach only the leads assigned to them; marketing reads leads without contact details', async () => {
    const others = await leadIn(fixture, fixture.ids.dealer_manager);
    const mine = await leadIn(fixture);
    const base = `/v1/tenants/${fixture.tenantA}/leads`;
    expect((await call('dealer_sales', { method: 'GET', url: `${base}/${others}` })).status).toBe(404);
    expect(
      (
        await call('dealer_sales', {
          method: 'PATCH',
          url: `${base}/${others}`,
          body: { status: 'contacted' },
        })
      ).status,
    ).toBe(404);
    const listed = ids((await call('dealer_sales', { method: 'GET', url: `${base}?limit=200` })).body);
    expect(listed).toContain(mine);
    expect(listed).not.toContain(others);
    const seen = JSON.parse(
      (await call('dealer_marketing', { method: 'GET', url: `${base}/${others}` })).body,
    ) as object;
    expect(Object.keys(seen)).not.toEqual(expect.arrayContaining(['customerName']));
    expect(seen).not.toHaveProperty('customerEmail');
    expect(ids((await call('dealer_manager', { method: 'GET', url: `${base}?limit=200` })).body)).toEqual(
      expect.arrayContaining([mine, others]),
    );
  });

  it('a manager removed from a store loses its rows on the very next request', async () => {
    const url = `/v1/tenants/${fixture.tenantA}/stores`;
    expect(ids((await call('dealer_manager', { method: 'GET', url })).body)).toEqual([fixture.storeIn]);
    const moved = await call('dealer_admin', {
      method: 'PATCH',
      url: `/v1/tenants/${fixture.tenantA}/users/${fixture.ids.dealer_manager}`,
      body: { storeIds: [fixture.storeOut] },
    });
    expect(moved.status).toBe(200);
    expect(ids((await call('dealer_manager', { method: 'GET', url })).body)).toEqual([fixture.storeOut]);
    await call('dealer_admin', {
      method: 'PATCH',
      url: `/v1/tenants/${fixture.tenantA}/users/${fixture.ids.dealer_manager}`,
      body: { storeIds: [fixture.storeIn] },
    });
  });

  it('platform support lists only the platform events it caused', async () => {
    const listed = JSON.parse(
      (await call('platform_support', { method: 'GET', url: '/v1/platform/audit-events' })).body,
    ) as {
      data: { actorId: string }[];
    };
    expect(listed.data.length).toBeGreaterThan(0);
    expect(new Set(listed.data.map((event) => event.actorId))).toEqual(
      new Set([fixture.ids.platform_support]),
    );
  });
});

describe('explain', () => {
  const explain = (query: string) =>
    call('dealer_admin', { method: 'GET', url: `/v1/tenants/${fixture.tenantA}/access/explain?${query}` });

  it("says why a salesperson may read their own record but not the admin's, naming the matrix row", async () => {
    const own = await explain(
      `userId=${fixture.ids.dealer_sales}&action=read&subject=User&id=${fixture.ids.dealer_sales}`,
    );
    expect(JSON.parse(own.body)).toEqual({
      allowed: true,
      reason: 'allowed as dealer_sales',
      rule: 'dealer_sales: read User, own record',
    });
    const other = await explain(
      `userId=${fixture.ids.dealer_sales}&action=read&subject=User&id=${fixture.ids.dealer_admin}`,
    );
    expect(JSON.parse(other.body)).toEqual({
      allowed: false,
      reason: 'refused as dealer_sales: the rule that grants read User does not cover this row',
      rule: 'dealer_sales: read User, own record',
    });
  });

  it('says when no rule grants an action at all, and when the person has no access to the tenant', async () => {
    const none = await explain(`userId=${fixture.ids.dealer_sales}&action=create&subject=Store`);
    expect(JSON.parse(none.body)).toEqual({
      allowed: false,
      reason: 'refused as dealer_sales: no rule of the matrix grants create Store',
      rule: null,
    });
    const stranger = await explain(`userId=${fixture.ids.platform_support}&action=read&subject=User`);
    expect(JSON.parse(stranger.body)).toMatchObject({ allowed: false, rule: null });
    const store = await explain(
      `userId=${fixture.ids.dealer_manager}&action=read&subject=Store&id=${fixture.storeOut}`,
    );
    expect(JSON.parse(store.body)).toMatchObject({
      allowed: false,
      rule: 'dealer_manager: read Store, stores in scope',
    });
  });

  it('refuses a question it cannot answer with a 4xx', async () => {
    expect((await explain(`userId=${fixture.ids.dealer_sales}&action=fly&subject=User`)).status).toBe(400);
    expect(
      (await explain(`userId=${fixture.ids.dealer_sales}&action=read&subject=Lead&id=${fixture.storeIn}`))
        .status,
    ).toBe(400);
    expect(
      (
        await explain(
          `userId=${fixture.ids.dealer_sales}&action=read&subject=Store&id=${fixture.ids.dealer_sales}`,
        )
      ).status,
    ).toBe(404);
  });
});

describe('coverage', () => {
  it('every route that declares a permission has its row in the table above', () => {
    const discovery = api.app.get(DiscoveryService);
    const scanner = api.app.get(MetadataScanner);
    const guarded: string[] = [];
    for (const wrapper of discovery.getControllers()) {
      const prototype = wrapper.instance
        ? (Object.getPrototypeOf(wrapper.instance) as Record<string, unknown>)
        : null;
      if (!prototype || !wrapper.metatype) continue;
      const base = String(Reflect.getMetadata(PATH_METADATA, wrapper.metatype) ?? '');
      for (const name of scanner.getAllMethodNames(prototype)) {
        const handler = prototype[name] as object;
        const path = Reflect.getMetadata(PATH_METADATA, handler) as string | undefined;
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        if (path === undefined || method === undefined) continue;
        if (!declaredPermission(handler)) continue;
        const full = `/${[base, path]
          .map((part) => part.replace(/^\/|\/$/g, ''))
          .filter(Boolean)
          .join('/')}`;
        guarded.push(`${RequestMethod[method]} ${full}`);
      }
    }
    expect(guarded.length).toBeGreaterThan(10);
    const covered = new Set(CASES.map((testCase) => testCase.route));
    expect(guarded.filter((route) => !covered.has(route))).toEqual([]);
  });
});
