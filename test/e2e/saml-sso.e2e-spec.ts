import { Pool } from 'pg';
import { SamlConnections, SsoAccounts, SsoCertificateWatch } from '@forecourt/auth';
import { TenantTransaction } from '@forecourt/database';
import {
  createGroup,
  generateSigningKey,
  type Group,
  invitationTokenFor,
  mailsIn,
  relayStateOf,
  SignInClient,
  spAuthnRequestId,
  startTestApi,
  temporaryMailDir,
  TEST_PASSWORD,
  type TestApi,
  TestIdp,
  type TestIdpResponseOptions,
} from '@forecourt/test-harness';

/**
 * SAML sign-in end to end: a real IdP (samlify, keys generated here) signs every response the
 * tests post, so each refusal below is refused for its own reason and not for a broken signature.
 */

let api: TestApi;
let second: TestApi;
let admin: Pool;
const mail = temporaryMailDir();
let north: Group;
let east: Group;
let northIdp: TestIdp;
let eastIdp: TestIdp;

const NORTH = 'saml-north';
const EAST = 'saml-east';
const NORTH_ADMIN = `admin@${NORTH}.test`;
const EAST_ADMIN = `admin@${EAST}.test`;
const SALES = `sam@${NORTH}.test`;

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, unknown>;
}

async function call(
  target: TestApi,
  method: 'GET' | 'PUT' | 'POST',
  url: string,
  token?: string,
  payload?: object,
): Promise<Answer> {
  const response = await target.app.inject({
    method,
    url,
    payload,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  const json = String(response.headers['content-type']).includes('json');
  return {
    status: response.statusCode,
    body: (json ? JSON.parse(response.body) : { text: response.body }) as Record<string, unknown>,
    headers: response.headers,
  };
}

function connectionBody(group: Group, idp: TestIdp, overrides: object = {}): object {
  return {
    idpEntityId: idp.entityId,
    idpSsoUrl: idp.ssoUrl,
    idpCertificates: [idp.certificatePem],
    enforce: false,
    roleMapping: [
      { group: 'Sales-North', role: 'dealer_sales', allStores: false, storeIds: [group.storeIds.North] },
      { group: 'Managers', role: 'dealer_manager', allStores: true, storeIds: [] },
    ],
    defaultRole: null,
    ...overrides,
  };
}

async function configure(group: Group, slug: string, idp: TestIdp, overrides: object = {}): Promise<Answer> {
  const answer = await call(
    api,
    'PUT',
    `/v1/tenants/${group.tenantId}/sso/saml`,
    group.tokens[`admin@${slug}.test`],
    connectionBody(group, idp, overrides),
  );
  return answer;
}

/** This service provider's URLs for `slug` (as the connection reports them). */
function sp(slug: string) {
  const base = `http://localhost:3000/v1/sso/saml/${slug}`;
  return { spEntityId: `${base}/metadata`, acsUrl: `${base}/acs` };
}

/** An SP-initiated login: the request id to answer and the RelayState to post back. */
async function startLogin(slug: string, target = api): Promise<{ requestId: string; relayState: string }> {
  const answer = await target.app.inject({ method: 'GET', url: `/v1/sso/saml/${slug}/login` });
  expect(answer.statusCode).toBe(302);
  const location = String(answer.headers.location);
  return { requestId: spAuthnRequestId(location), relayState: relayStateOf(location)! };
}

let addresses = 0;
const nextAddress = () => `10.8.${Math.floor(++addresses / 250)}.${(addresses % 250) + 1}`;

async function postAcs(
  slug: string,
  samlResponse: string,
  relayState?: string,
  target = api,
  remoteAddress?: string,
): Promise<Answer> {
  const form = new URLSearchParams({
    SAMLResponse: samlResponse,
    ...(relayState ? { RelayState: relayState } : {}),
  });
  const response = await target.app.inject({
    method: 'POST',
    url: `/v1/sso/saml/${slug}/acs`,
    payload: form.toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    // Each post from its own address, so the sign-in rate limits (tested on their own) stay out of the way.
    remoteAddress: remoteAddress ?? nextAddress(),
  });
  return {
    status: response.statusCode,
    body: JSON.parse(response.body) as Record<string, unknown>,
    headers: response.headers,
  };
}

/** A full SP-initiated sign-in, the response shaped by `options`. */
async function signIn(
  slug: string,
  idp: TestIdp,
  nameId: string,
  options: Partial<TestIdpResponseOptions> = {},
): Promise<Answer> {
  const { requestId, relayState } = await startLogin(slug);
  const response = await idp.response({ ...sp(slug), nameId, inResponseTo: requestId, ...options });
  return postAcs(slug, response, relayState);
}

async function me(token: string) {
  return (await call(api, 'GET', '/v1/auth/me', token)).body as {
    user: { email: string };
    memberships: { tenantId: string; role: string; allStores: boolean; storeIds: string[] }[];
  };
}

beforeAll(async () => {
  api = await startTestApi({ env: { MAIL_DIR: mail.path } });
  second = await startTestApi({ env: { MAIL_DIR: mail.path }, shareDatabaseWith: api });
  admin = new Pool({ connectionString: api.db.adminUrl, max: 1 });
  north = await createGroup(api, mail.path, {
    slug: NORTH,
    stores: ['North', 'South'],
    members: [{ email: SALES, role: 'dealer_sales', stores: ['North'] }],
  });
  east = await createGroup(api, mail.path, {
    slug: EAST,
    stores: ['North', 'Harbour'],
    ownerEmail: `owner@${EAST}.test`,
  });
  northIdp = new TestIdp({
    entityId: 'https://idp.north.example.test',
    ssoUrl: 'https://idp.north.example.test/sso',
  });
  eastIdp = new TestIdp({
    entityId: 'https://login.east.example.test',
    ssoUrl: 'https://login.east.example.test/saml',
  });
  expect((await configure(north, NORTH, northIdp)).status).toBe(200);
  expect((await configure(east, EAST, eastIdp)).status).toBe(200);
}, 120_000);

afterAll(async () => {
  await admin.end();
  await second.close();
  await api.close();
  mail.remove();
});

describe('connection', () => {
  it('reports the SP entity id and ACS URL to give the IdP, and the certificates it holds', async () => {
    const answer = await call(
      api,
      'GET',
      `/v1/tenants/${north.tenantId}/sso/saml`,
      north.tokens[NORTH_ADMIN],
    );
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      idpEntityId: northIdp.entityId,
      spEntityId: sp(NORTH).spEntityId,
      acsUrl: sp(NORTH).acsUrl,
      enforce: false,
      defaultRole: null,
    });
    expect((answer.body.certificates as { expiresSoon: boolean }[])[0]).toMatchObject({ expiresSoon: false });
  });

  it('serves SP metadata naming this tenant’s entity id and ACS URL', async () => {
    const answer = await api.app.inject({ method: 'GET', url: `/v1/sso/saml/${NORTH}/metadata` });
    expect(answer.statusCode).toBe(200);
    expect(answer.headers['content-type']).toMatch(/samlmetadata\+xml/);
    expect(answer.body).toContain(`entityID="${sp(NORTH).spEntityId}"`);
    expect(answer.body).toContain(`Location="${sp(NORTH).acsUrl}"`);
    expect(
      (await api.app.inject({ method: 'GET', url: '/v1/sso/saml/no-such-group/metadata' })).statusCode,
    ).toBe(404);
  });

  it('refuses an expired, a not-yet-valid and a malformed certificate, naming it', async () => {
    const expired = generateSigningKey('expired', {
      notBefore: new Date('2020-01-01T00:00:00Z'),
      notAfter: new Date('2021-01-01T00:00:00Z'),
    });
    const future = generateSigningKey('future', { notBefore: new Date(Date.now() + 86_400_000 * 10) });
    for (const [certificates, pattern] of [
      [[northIdp.certificatePem, expired.certificatePem], /idpCertificates\[1\] expired/],
      [[future.certificatePem], /idpCertificates\[0\] is not valid before/],
      [
        ['-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----'],
        /idpCertificates\[0\] is not a PEM/,
      ],
    ] as const) {
      const answer = await configure(north, NORTH, northIdp, { idpCertificates: certificates });
      expect(answer.status).toBe(400);
      expect(answer.body.detail).toMatch(pattern);
    }
  });

  it('imports the entity id, SSO URL and certificate from the IdP’s metadata document', async () => {
    const imported = await call(
      api,
      'PUT',
      `/v1/tenants/${east.tenantId}/sso/saml`,
      east.tokens[EAST_ADMIN],
      {
        idpMetadataXml: eastIdp.metadataXml(),
        enforce: false,
        roleMapping: [{ group: 'Managers', role: 'dealer_manager', allStores: true, storeIds: [] }],
        defaultRole: null,
      },
    );
    expect(imported.status).toBe(200);
    expect(imported.body).toMatchObject({
      idpEntityId: eastIdp.entityId,
      idpSsoUrl: eastIdp.ssoUrl,
      certificates: [{ expiresSoon: false }],
    });
    const signedIn = await signIn(EAST, eastIdp, 'ivy@east-staff.test', {
      attributes: { groups: ['Managers'] },
    });
    expect(signedIn.status).toBe(200);
    for (const [xml, pattern] of [
      ['<md:EntityDescriptor', /not well-formed/],
      ['<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x/>', /DOCTYPE/],
      ['<x xmlns="urn:oasis:names:tc:SAML:2.0:metadata"/>', /found 0/],
    ] as const) {
      const refused = await call(
        api,
        'PUT',
        `/v1/tenants/${east.tenantId}/sso/saml`,
        east.tokens[EAST_ADMIN],
        {
          idpMetadataXml: xml,
          enforce: false,
          roleMapping: [],
          defaultRole: null,
        },
      );
      expect(refused.status).toBe(400);
      expect(refused.body.detail).toMatch(pattern);
    }
    expect((await configure(east, EAST, eastIdp)).status).toBe(200);
  });

  it('flags a certificate that expires within 30 days, and mails the admins once about it', async () => {
    const soon = generateSigningKey('north-idp-soon', { notAfter: new Date(Date.now() + 10 * 86_400_000) });
    const stored = await configure(north, NORTH, northIdp, {
      idpCertificates: [northIdp.certificatePem, soon.certificatePem],
    });
    expect(stored.status).toBe(200);
    expect((stored.body.certificates as { expiresSoon: boolean }[]).map((info) => info.expiresSoon)).toEqual([
      false,
      true,
    ]);
    const watch = api.app.get(SsoCertificateWatch);
    const before = mailsIn(mail.path).length;
    expect(await watch.run()).toBe(1);
    expect(await watch.run()).toBe(0); // told once
    const sent = mailsIn(mail.path)
      .slice(before)
      .filter((raw) => /Subject: The SSO signing certificate of .* expires on/.test(raw));
    expect(sent.map((raw) => /^To: (.*)$/m.exec(raw)?.[1])).toEqual([NORTH_ADMIN]);
    expect((await configure(north, NORTH, northIdp)).status).toBe(200);
  });

  it('sweeps request and assertion ids past their end, and keeps the live ones', async () => {
    await admin.query(
      `insert into saml_requests (tenant_id, id, relay_key, expires_at) values
         ($1, '_gone-request', 'gone-relay-key-0123', now() - interval '1 minute'),
         ($1, '_live-request', 'live-relay-key-0123', now() + interval '5 minutes')`,
      [north.tenantId],
    );
    await admin.query(
      `insert into saml_assertions (tenant_id, id, expires_at) values
         ($1, '_gone-assertion', now() - interval '1 minute'), ($1, '_live-assertion', now() + interval '5 minutes')`,
      [north.tenantId],
    );
    await api.app.get(SsoCertificateWatch).run();
    const { rows } = await admin.query<{ id: string }>(
      `select id from saml_requests where tenant_id = $1 and id like '\\_%-request'
       union all select id from saml_assertions where tenant_id = $1 and id like '\\_%-assertion'`,
      [north.tenantId],
    );
    expect(rows.map((row) => row.id).sort()).toEqual(['_live-assertion', '_live-request']);
  });

  it('refuses a store of another tenant in the mapping, and a dealer_admin limited to some stores', async () => {
    const foreign = await configure(north, NORTH, northIdp, {
      roleMapping: [
        { group: 'x', role: 'dealer_sales', allStores: false, storeIds: [east.storeIds.Harbour] },
      ],
    });
    expect(foreign.status).toBe(400);
    expect(foreign.body.detail).toMatch(/not a store of this tenant/);
    const narrowAdmin = await configure(north, NORTH, northIdp, {
      defaultRole: { role: 'dealer_admin', allStores: false, storeIds: [north.storeIds.North] },
    });
    expect(narrowAdmin.status).toBe(400);
  });

  it('records each change in the audit trail, naming the fields', async () => {
    await configure(north, NORTH, northIdp, { allowIdpInitiated: true });
    await configure(north, NORTH, northIdp, { allowIdpInitiated: false });
    const { rows } = await admin.query<{ action: string; changed_fields: string[] }>(
      `select action, changed_fields from audit_events where tenant_id = $1 and action like 'sso.%' order by at`,
      [north.tenantId],
    );
    expect(rows[0]).toMatchObject({ action: 'sso.create' });
    expect(rows.slice(-2).map((row) => row.changed_fields)).toEqual([
      ['allowIdpInitiated'],
      ['allowIdpInitiated'],
    ]);
  });
});

describe('sign-in', () => {
  it('SP-initiated, for two tenants with their own IdPs and keys: a session with the mapped role and stores', async () => {
    const login = await api.app.inject({ method: 'GET', url: `/v1/sso/saml/${NORTH}/login?returnTo=/leads` });
    expect(login.statusCode).toBe(302);
    expect(String(login.headers.location)).toMatch(/^https:\/\/idp\.north\.example\.test\/sso\?SAMLRequest=/);

    const ann = await signIn(NORTH, northIdp, 'ann@north-staff.test', {
      attributes: { groups: ['Sales-North'] },
    });
    expect(ann.status).toBe(200);
    expect(typeof ann.body.token).toBe('string');
    expect(new Date(ann.body.expiresAt as string).getTime()).toBeGreaterThan(Date.now());
    expect(await me(ann.body.token as string)).toMatchObject({
      user: { email: 'ann@north-staff.test' },
      memberships: [
        {
          tenantId: north.tenantId,
          role: 'dealer_sales',
          allStores: false,
          storeIds: [north.storeIds.North],
        },
      ],
    });

    const bob = await signIn(EAST, eastIdp, 'bob@east-staff.test', { attributes: { groups: ['Managers'] } });
    expect(bob.status).toBe(200);
    expect(await me(bob.body.token as string)).toMatchObject({
      memberships: [{ tenantId: east.tenantId, role: 'dealer_manager', allStores: true }],
    });
  });

  /** A browser's SP-initiated sign-in asking to return to `returnTo`: the ACS's answer. */
  async function browserSignIn(returnTo: string) {
    const login = await api.app.inject({
      method: 'GET',
      url: `/v1/sso/saml/${NORTH}/login?returnTo=${encodeURIComponent(returnTo)}`,
    });
    const location = String(login.headers.location);
    const response = await northIdp.response({
      ...sp(NORTH),
      nameId: 'cara@north-staff.test',
      inResponseTo: spAuthnRequestId(location),
      attributes: { groups: ['Managers'] },
    });
    return api.app.inject({
      method: 'POST',
      url: `/v1/sso/saml/${NORTH}/acs`,
      payload: new URLSearchParams({
        SAMLResponse: response,
        RelayState: relayStateOf(location)!,
      }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
    });
  }

  it('in a browser: sets the session cookie and moves on with a page of its own to the path asked for', async () => {
    const answer = await browserSignIn('/deals/42');
    expect(answer.statusCode).toBe(200);
    expect(String(answer.headers['set-cookie'])).toMatch(/fc_session=.*HttpOnly/);
    expect(answer.body).toContain('url=http://localhost:3000/deals/42');
  });

  it('never returns to another host, whatever returnTo asks for', async () => {
    for (const returnTo of ['//evil.example', 'https://evil.example/', '/\\evil.example']) {
      const answer = await browserSignIn(returnTo);
      expect(answer.statusCode).toBe(200);
      expect(answer.body).toContain('url=http://localhost:3000/"');
    }
  });

  it('re-applies the mapping at every sign-in: a group dropped at the IdP removes the membership', async () => {
    const first = await signIn(NORTH, northIdp, 'dan@north-staff.test', {
      attributes: { groups: ['Sales-North'] },
    });
    expect((await me(first.body.token as string)).memberships).toEqual([
      { tenantId: north.tenantId, role: 'dealer_sales', allStores: false, storeIds: [north.storeIds.North] },
    ]);
    const dropped = await signIn(NORTH, northIdp, 'dan@north-staff.test', {
      attributes: { groups: ['Cafeteria'] },
    });
    expect(dropped.status).toBe(401);
    expect(dropped.body.detail).toMatch(/no role mapping matches/);
    // The earlier session lives on, but no longer holds a membership of the group.
    expect(await me(first.body.token as string)).toMatchObject({ memberships: [] });

    const promoted = await signIn(NORTH, northIdp, 'dan@north-staff.test', {
      attributes: { groups: ['Managers'] },
    });
    expect((await me(promoted.body.token as string)).memberships).toMatchObject([
      { role: 'dealer_manager', allStores: true },
    ]);
  });

  it('provisions one new person five times at once: one account, one membership', async () => {
    // Straight to the accounts service, so the five really meet at the account check (over HTTP
    // the signature checks, one after another on the event loop, spread them out).
    const connection = await api.app.get(SamlConnections).forSlug(NORTH);
    const accounts = api.app.get(SsoAccounts);
    // Ten open connections in the pool first, so none of the five waits for a new one.
    const transactions = api.app.get(TenantTransaction);
    await Promise.all(
      Array.from({ length: 10 }, () =>
        transactions.statement({ tenantId: north.tenantId, stores: 'all' }, 'select pg_sleep(0.05)'),
      ),
    );
    const email = 'quinn@north-staff.test';
    const provisioned = await Promise.all(
      Array.from({ length: 5 }, (_, index) =>
        accounts.provision(
          { requestId: `race-${index}`, ip: null, userAgent: null, principal: null, tenant: null },
          connection,
          { email, name: 'Quinn', groups: ['Managers'] },
        ),
      ),
    );
    expect(new Set(provisioned.map((user) => user.userId)).size).toBe(1);
    const { rows } = await admin.query<{ users: number; memberships: number }>(
      `select (select count(*)::int from users where email = $1) as users,
              (select count(*)::int from memberships m join users u on u.id = m.user_id where u.email = $1) as memberships`,
      [email],
    );
    expect(rows[0]).toEqual({ users: 1, memberships: 1 });
  });

  it('refuses an e-mail whose account another tenant knows: one IdP never signs in as another tenant’s user', async () => {
    const answer = await signIn(NORTH, northIdp, EAST_ADMIN, { attributes: { groups: ['Managers'] } });
    expect(answer.status).toBe(409);
    expect(answer.body.detail).toMatch(/outside this SSO connection/);
  });
});

describe('test connection', () => {
  async function startTest(): Promise<{ id: string; loginUrl: string }> {
    const started = await call(
      api,
      'POST',
      `/v1/tenants/${north.tenantId}/sso/saml/test`,
      north.tokens[NORTH_ADMIN],
    );
    expect(started.status).toBe(201);
    return started.body as unknown as { id: string; loginUrl: string };
  }

  it('reports what a real sign-in would do, and signs nobody in', async () => {
    const test = await startTest();
    expect(spAuthnRequestId(test.loginUrl)).toBe(test.id);
    const response = await northIdp.response({
      ...sp(NORTH),
      nameId: 'tess@north-staff.test',
      inResponseTo: test.id,
      attributes: { groups: ['Sales-North', 'Everyone'] },
    });
    const answer = await postAcs(NORTH, response, relayStateOf(test.loginUrl)!);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      test: expect.objectContaining({
        id: test.id,
        status: 'passed',
        nameId: 'tess@north-staff.test',
        groups: ['Sales-North', 'Everyone'],
        mappedRole: { role: 'dealer_sales', allStores: false, storeIds: [north.storeIds.North] },
      }) as unknown,
    });
    expect((await admin.query(`select 1 from users where email = 'tess@north-staff.test'`)).rowCount).toBe(0);
    const read = await call(
      api,
      'GET',
      `/v1/tenants/${north.tenantId}/sso/saml/test/${test.id}`,
      north.tokens[NORTH_ADMIN],
    );
    expect(read.body).toMatchObject({ status: 'passed', reason: null, detail: null });
  });

  it('reports the exact failure', async () => {
    const test = await startTest();
    const response = await northIdp.response({
      ...sp(NORTH),
      nameId: 'tess@north-staff.test',
      inResponseTo: test.id,
      audience: 'https://wrong.example/sp',
      attributes: { groups: ['Sales-North'] },
    });
    const answer = await postAcs(NORTH, response, relayStateOf(test.loginUrl)!);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ test: { status: 'failed', reason: 'audience' } });
    const read = await call(
      api,
      'GET',
      `/v1/tenants/${north.tenantId}/sso/saml/test/${test.id}`,
      north.tokens[NORTH_ADMIN],
    );
    expect(read.body).toMatchObject({
      status: 'failed',
      reason: 'audience',
      detail: expect.stringMatching(/SP entity id/) as unknown,
    });
  });

  it('reports a user the mapping does not match as failed', async () => {
    const test = await startTest();
    const response = await northIdp.response({
      ...sp(NORTH),
      nameId: 'tess@north-staff.test',
      inResponseTo: test.id,
      attributes: { groups: ['Cafeteria'] },
    });
    expect((await postAcs(NORTH, response, relayStateOf(test.loginUrl)!)).body).toMatchObject({
      test: { status: 'failed', reason: 'not_mapped', mappedRole: null },
    });
  });
});

describe('refused responses, each for its own reason', () => {
  const staff = 'eve@north-staff.test';
  const groups = { groups: ['Managers'] };

  async function refused(answer: Promise<Answer>, detail: RegExp): Promise<void> {
    const result = await answer;
    expect(result.status).toBe(401);
    expect(result.headers['content-type']).toMatch(/problem\+json/);
    expect(result.body.detail).toMatch(detail);
  }

  it('an Issuer that is not the tenant’s IdP', async () => {
    await refused(
      signIn(NORTH, northIdp, staff, { attributes: groups, issuer: 'https://idp.attacker.example' }),
      /Issuer/,
    );
  });

  it('a Destination that is another tenant’s ACS', async () => {
    await refused(
      signIn(NORTH, northIdp, staff, { attributes: groups, destination: sp(EAST).acsUrl }),
      /Destination/,
    );
  });

  it('a Recipient that is another tenant’s ACS', async () => {
    await refused(
      signIn(NORTH, northIdp, staff, { attributes: groups, recipient: sp(EAST).acsUrl }),
      /Recipient/,
    );
  });

  it('an unsigned response', async () => {
    await refused(
      signIn(NORTH, northIdp, staff, { attributes: groups, signAssertion: false, signResponse: false }),
      /not signed by a certificate of this connection/,
    );
  });

  it('an assertion signed by another tenant’s IdP key, posted to this tenant’s ACS', async () => {
    const foreignKey = generateSigningKey('east-idp-copy');
    await refused(
      signIn(NORTH, northIdp, staff, { attributes: groups, signingKey: foreignKey }),
      /not signed by a certificate of this connection/,
    );
    await refused(
      signIn(NORTH, eastIdp, staff, { attributes: groups, issuer: northIdp.entityId }),
      /not signed by a certificate of this connection/,
    );
  });

  it('a wrong audience', async () => {
    await refused(
      signIn(NORTH, northIdp, staff, { attributes: groups, audience: sp(EAST).spEntityId }),
      /audience/,
    );
  });

  it('an expired NotOnOrAfter', async () => {
    await refused(
      signIn(NORTH, northIdp, staff, {
        attributes: groups,
        notBefore: new Date(Date.now() - 600_000),
        notOnOrAfter: new Date(Date.now() - 60_000),
      }),
      /expired/,
    );
  });

  it('a NotBefore in the future beyond the clock skew', async () => {
    await refused(
      signIn(NORTH, northIdp, staff, { attributes: groups, notBefore: new Date(Date.now() + 120_000) }),
      /not valid yet/,
    );
  });

  it('an InResponseTo that answers no request of this service', async () => {
    const response = await northIdp.response({
      ...sp(NORTH),
      nameId: staff,
      inResponseTo: '_made-up',
      attributes: groups,
    });
    await refused(postAcs(NORTH, response), /InResponseTo/);
  });

  it('an IdP-initiated response where the tenant does not accept them', async () => {
    const response = await northIdp.response({ ...sp(NORTH), nameId: staff, attributes: groups });
    await refused(postAcs(NORTH, response), /IdP-initiated/);
  });

  it('the same response posted twice, also to a second instance', async () => {
    const { requestId, relayState } = await startLogin(NORTH);
    const response = await northIdp.response({
      ...sp(NORTH),
      nameId: staff,
      inResponseTo: requestId,
      attributes: groups,
    });
    expect((await postAcs(NORTH, response, relayState)).status).toBe(200);
    await refused(postAcs(NORTH, response, relayState), /InResponseTo|replayed/);
    await refused(postAcs(NORTH, response, relayState, second), /InResponseTo|replayed/);
  });

  it('an IdP-initiated response posted twice, where the tenant accepts them (the assertion id is remembered)', async () => {
    expect((await configure(east, EAST, eastIdp, { allowIdpInitiated: true })).status).toBe(200);
    try {
      const response = await eastIdp.response({
        ...sp(EAST),
        nameId: 'fay@east-staff.test',
        attributes: groups,
      });
      expect((await postAcs(EAST, response)).status).toBe(200);
      await refused(postAcs(EAST, response, undefined, second), /replayed/);
    } finally {
      await configure(east, EAST, eastIdp);
    }
  });

  it('an XML-signature-wrapping variant: a second, unsigned assertion beside the signed one', async () => {
    const { requestId, relayState } = await startLogin(NORTH);
    const genuine = await northIdp.response({
      ...sp(NORTH),
      nameId: staff,
      inResponseTo: requestId,
      attributes: groups,
    });
    await refused(
      postAcs(NORTH, northIdp.withWrappedAssertion(genuine, NORTH_ADMIN), relayState),
      /exactly one assertion/,
    );
  });

  it('a comment injected into the NameID', async () => {
    const { requestId, relayState } = await startLogin(NORTH);
    const genuine = await northIdp.response({
      ...sp(NORTH),
      nameId: 'admin@x.test.evil.test',
      inResponseTo: requestId,
      attributes: groups,
    });
    await refused(
      postAcs(NORTH, northIdp.withCommentInNameId(genuine, 'admin@x.test'), relayState),
      /NameID/,
    );
  });

  it('a document with a DOCTYPE (entity declarations), before any XML processing', async () => {
    const hostile = Buffer.from(
      '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]>' +
        '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&a;</samlp:Response>',
    ).toString('base64');
    await refused(postAcs(NORTH, hostile), /not a SAML response this service can read/);
  });

  it('a SHA-1 signature, unless the tenant allows it', async () => {
    await refused(
      signIn(NORTH, northIdp, staff, { attributes: groups, signatureAlgorithm: 'sha1' }),
      /SHA-1/,
    );
  });

  it('lists the tenant’s recent refusals for its admin: when, the fixed reason and what to fix', async () => {
    const answer = await call(
      api,
      'GET',
      `/v1/tenants/${north.tenantId}/sso/saml/failures`,
      north.tokens[NORTH_ADMIN],
    );
    expect(answer.status).toBe(200);
    const failures = answer.body as unknown as { at: string; reason: string; detail: string }[];
    expect(new Set(failures.map((failure) => failure.reason))).toEqual(
      new Set([
        'issuer',
        'destination',
        'recipient',
        'signature',
        'audience',
        'expired',
        'not_yet_valid',
        'unknown_request',
        'idp_initiated',
        'assertion_count',
        'name_id_markup',
        'unreadable',
        'sha1',
        'not_mapped',
        'account_conflict',
      ]),
    );
    expect(failures.find((failure) => failure.reason === 'audience')?.detail).toMatch(/SP entity id/);
    expect(JSON.stringify(failures)).not.toMatch(/SAMLResponse|eve@north-staff|PHNhbWxw/);
  });

  it('counts refusals against the sign-in rate limit of the client address (429 past it)', async () => {
    const response = await northIdp.response({ ...sp(NORTH), nameId: staff, attributes: groups });
    const address = '10.9.9.9';
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 11; attempt++) {
      statuses.push((await postAcs(NORTH, response, undefined, api, address)).status);
    }
    expect(statuses.slice(0, 10)).toEqual(Array.from({ length: 10 }, () => 401));
    expect(statuses[10]).toBe(429);
  });

  it('records each refusal as auth.sso.failed, without the assertion', async () => {
    const { rows } = await admin.query<{ reason: string; outcome: string }>(
      `select reason, outcome from audit_events where tenant_id = $1 and action = 'auth.sso.failed'`,
      [north.tenantId],
    );
    expect(rows.length).toBeGreaterThanOrEqual(10);
    expect(new Set(rows.map((row) => row.outcome))).toEqual(new Set(['denied']));
  });
});

describe('certificate rotation', () => {
  it('accepts responses signed by either certificate while both are configured, and not the old one after', async () => {
    const next = generateSigningKey('north-idp-next');
    expect(
      (
        await configure(north, NORTH, northIdp, {
          idpCertificates: [northIdp.certificatePem, next.certificatePem],
        })
      ).status,
    ).toBe(200);
    const groups = { groups: ['Managers'] };
    expect((await signIn(NORTH, northIdp, 'gus@north-staff.test', { attributes: groups })).status).toBe(200);
    expect(
      (await signIn(NORTH, northIdp, 'gus@north-staff.test', { attributes: groups, signingKey: next }))
        .status,
    ).toBe(200);
    expect((await configure(north, NORTH, northIdp, { idpCertificates: [next.certificatePem] })).status).toBe(
      200,
    );
    expect((await signIn(NORTH, northIdp, 'gus@north-staff.test', { attributes: groups })).status).toBe(401);
    expect(
      (await signIn(NORTH, northIdp, 'gus@north-staff.test', { attributes: groups, signingKey: next }))
        .status,
    ).toBe(200);
    await configure(north, NORTH, northIdp);
  });
});

describe('password sign-in next to SSO', () => {
  it('is refused for SSO accounts, which have no password', async () => {
    const client = new SignInClient(api.app);
    const answer = await client.post('/v1/auth/login', {
      email: 'ann@north-staff.test',
      password: TEST_PASSWORD,
    });
    expect(answer.status).toBe(401);
  });

  it('SSO-only: refused for a member, allowed for the break-glass admin, audited and mailed to the other admins', async () => {
    const client = new SignInClient(api.app);
    const glass = `glass@${NORTH}.test`;
    const invited = await call(
      api,
      'POST',
      `/v1/tenants/${north.tenantId}/invitations`,
      north.tokens[NORTH_ADMIN],
      {
        email: glass,
        role: 'dealer_admin',
        allStores: true,
      },
    );
    expect(invited.status).toBe(201);
    await client.post('/v1/auth/invitations/accept', {
      token: invitationTokenFor(mail.path, glass),
      name: 'Glass',
      password: TEST_PASSWORD,
    });
    const enrolled = await client.enroll(glass, TEST_PASSWORD);
    const glassId = ((await client.get('/v1/auth/me', enrolled.token)).body.user as { id: string }).id;
    expect(
      (await configure(north, NORTH, northIdp, { enforce: true, breakGlassUserIds: [glassId] })).status,
    ).toBe(200);
    try {
      const refused = await client.post('/v1/auth/login', { email: SALES, password: TEST_PASSWORD });
      expect(refused.status).toBe(401);
      expect(refused.body.detail).toContain(`/v1/sso/saml/${NORTH}/login`);
      // A wrong password still reads as a wrong password: the rule is told only to the account's owner.
      const wrong = await client.post('/v1/auth/login', {
        email: SALES,
        password: 'not the password at all',
      });
      expect(wrong.body.detail).not.toContain('/v1/sso/saml');

      const mailsBefore = mailsIn(mail.path).length;
      const session = await client.sessionWithRecoveryCode(glass, TEST_PASSWORD, enrolled.recoveryCodes[0]!);
      expect((await me(session)).memberships).toMatchObject([
        { tenantId: north.tenantId, role: 'dealer_admin' },
      ]);
      const { rows } = await admin.query<{ subject_id: string }>(
        `select subject_id from audit_events where tenant_id = $1 and action = 'auth.sso.break_glass'`,
        [north.tenantId],
      );
      expect(rows.map((row) => row.subject_id)).toEqual([glassId]);
      const mails = mailsIn(mail.path).slice(mailsBefore);
      expect(
        mails
          .filter((raw) => /Subject: Break-glass sign-in/.test(raw))
          .map((raw) => /^To: (.*)$/m.exec(raw)?.[1]),
      ).toEqual([NORTH_ADMIN]);
    } finally {
      expect((await configure(north, NORTH, northIdp)).status).toBe(200);
    }
    expect((await client.post('/v1/auth/login', { email: SALES, password: TEST_PASSWORD })).status).toBe(200);
  });
});
