import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlatformOwners } from '@forecourt/auth';
import type { TestApi } from './api';
import { invitationTokenFor } from './mailbox';
import { SignInClient } from './sign-in';

export const TEST_PASSWORD = 'correct horse battery staple';

export interface GroupMember {
  email: string;
  role: 'dealer_admin' | 'dealer_manager' | 'dealer_sales' | 'dealer_marketing';
  /** Names of the group's stores in the member's scope; omitted: all stores. */
  stores?: string[];
}

/** A dealer group as its members see it over HTTP: signed-in tokens, store ids by name. */
export interface Group {
  tenantId: string;
  storeIds: Record<string, string>;
  /** Session tokens by e-mail, the group's admin (`admin@<slug>.test`) included. */
  tokens: Record<string, string>;
  /** User ids by e-mail, likewise. */
  userIds: Record<string, string>;
  ownerToken: string;
}

/**
 * Creates a dealer group through the real API, as people would: a platform owner creates the
 * tenant, its admin accepts the mailed invitation and enrols MFA, creates the stores and invites
 * the members, who accept and enrol in turn. `api` must run with `MAIL_DIR` set to `mailDir`.
 */
export async function createGroup(
  api: TestApi,
  mailDir: string,
  spec: { slug: string; stores: string[]; members?: GroupMember[]; ownerEmail?: string },
): Promise<Group> {
  const client = new SignInClient(api.app);
  const ownerEmail = spec.ownerEmail ?? `owner@${spec.slug}.test`;
  await api.app.get(PlatformOwners).create(ownerEmail, 'Owner', TEST_PASSWORD);
  const ownerToken = (await client.enroll(ownerEmail, TEST_PASSWORD)).token;
  const as = (token: string, method: 'POST', url: string, payload: object) =>
    api.app.inject({ method, url, payload, headers: { authorization: `Bearer ${token}` } });
  const adminEmail = `admin@${spec.slug}.test`;
  const created = await as(ownerToken, 'POST', '/v1/platform/tenants', {
    name: `${spec.slug} Group`,
    slug: spec.slug,
    adminEmail,
  });
  if (created.statusCode !== 201) throw new Error(`tenant not created: ${created.body}`);
  const tenantId = created.json<{ id: string }>().id;
  const accept = async (email: string) => {
    await client.post('/v1/auth/invitations/accept', {
      token: invitationTokenFor(mailDir, email),
      name: email.split('@')[0]!,
      password: TEST_PASSWORD,
    });
    return (await client.enroll(email, TEST_PASSWORD)).token;
  };
  const tokens: Record<string, string> = { [adminEmail]: await accept(adminEmail) };
  const storeIds: Record<string, string> = {};
  for (const name of spec.stores) {
    const store = await as(tokens[adminEmail]!, 'POST', `/v1/tenants/${tenantId}/stores`, { name });
    storeIds[name] = store.json<{ id: string }>().id;
  }
  for (const member of spec.members ?? []) {
    const invited = await as(tokens[adminEmail]!, 'POST', `/v1/tenants/${tenantId}/invitations`, {
      email: member.email,
      role: member.role,
      ...(member.stores ? { storeIds: member.stores.map((name) => storeIds[name]) } : { allStores: true }),
    });
    if (invited.statusCode !== 201) throw new Error(`member not invited: ${invited.body}`);
    tokens[member.email] = await accept(member.email);
  }
  const userIds: Record<string, string> = {};
  for (const [email, token] of Object.entries(tokens)) {
    userIds[email] = ((await client.get('/v1/auth/me', token)).body.user as { id: string }).id;
  }
  return { tenantId, storeIds, tokens, userIds, ownerToken };
}

/** A mail folder for one test file's API, removed with `remove()`. */
export function temporaryMailDir(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'forecourt-mail-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A member's answer: status, JSON body (`{}` when there is none), raw text and request id. */
export interface MemberAnswer {
  status: number;
  body: Record<string, unknown>;
  text: string;
  requestId: string;
}

/**
 * The answer's text with its request id taken out. A request id is random hex, so a test that
 * says "no digits of the card number appear" would otherwise fail whenever the id happens to
 * contain them.
 */
export function textBesidesRequestId(answer: { text: string; requestId: string }): string {
  return answer.text.split(answer.requestId).join('');
}

/**
 * Calls `/v1/tenants/<group>/<url>` as the member `who` (an e-mail of the group) with a Bearer
 * session. Both are read at call time, so a test file can make its caller before `beforeAll`.
 */
export function memberCaller(api: () => TestApi, group: () => Group) {
  return async (
    who: string,
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    payload?: object,
  ): Promise<MemberAnswer> => {
    const response = await api().app.inject({
      method,
      url: `/v1/tenants/${group().tenantId}${url}`,
      payload,
      headers: { authorization: `Bearer ${group().tokens[who]}` },
    });
    const json = String(response.headers['content-type']).includes('json');
    return {
      status: response.statusCode,
      body: json ? response.json<Record<string, unknown>>() : {},
      text: response.body,
      requestId: String(response.headers['x-request-id']),
    };
  };
}
