import { PlatformOwners } from '@forecourt/auth';
import { startTestApi, TestApi } from '@forecourt/test-harness';

const PASSWORD = 'correct horse battery staple';
let first: TestApi;
let second: TestApi;
let proxied: TestApi;
let email: string;

beforeAll(async () => {
  first = await startTestApi();
  second = await startTestApi({ shareDatabaseWith: first });
  proxied = await startTestApi({ shareDatabaseWith: first, env: { TRUSTED_PROXIES: '10.9.9.9' } });
  email = `limits.${Date.now()}@example.test`;
  await first.app.get(PlatformOwners).create(email, 'Limits Owner', PASSWORD);
});

afterAll(async () => {
  await proxied.close();
  await second.close();
  await first.close();
});

let addresses = 0;
/** A client address no other test uses. */
const freshIp = () => `192.0.2.${(addresses += 1)}`;

function login(api: TestApi, ip: string, body: object, headers: Record<string, string> = {}) {
  return api.app.inject({ method: 'POST', url: '/v1/auth/login', payload: body, remoteAddress: ip, headers });
}

const wrong = (to = email) => ({ email: to, password: 'definitely not the password' });

describe('failed sign-ins per IP', () => {
  it('answers the 11th failure within the window with 429 and Retry-After, counted across two instances', async () => {
    const ip = freshIp();
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const api = attempt % 2 === 0 ? first : second;
      expect((await login(api, ip, wrong(`nobody${attempt}@example.test`))).statusCode).toBe(401);
    }
    const limited = await login(first, ip, wrong('nobody@example.test'));
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['content-type']).toMatch(/problem\+json/);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await login(second, ip, { email, password: PASSWORD })).statusCode).toBe(429);
    // Another address is unaffected.
    expect((await login(second, freshIp(), { email, password: PASSWORD })).statusCode).toBe(200);
  });

  it('does not limit twenty successful sign-ins from one address (a showroom behind one NAT)', async () => {
    const ip = freshIp();
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const api = attempt % 2 === 0 ? first : second;
      expect((await login(api, ip, { email, password: PASSWORD })).statusCode).toBe(200);
    }
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    const ip = freshIp();
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const spoofed = { 'x-forwarded-for': `198.51.100.${attempt + 1}` };
      expect((await login(first, ip, wrong(`nobody${attempt}@example.test`), spoofed)).statusCode).toBe(401);
    }
    expect((await login(first, ip, wrong(), { 'x-forwarded-for': '198.51.100.200' })).statusCode).toBe(429);
  });

  it('counts the forwarded client address behind a trusted proxy', async () => {
    const client = `203.0.113.${(addresses += 1)}`;
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const response = await login(proxied, '10.9.9.9', wrong(`nobody${attempt}@example.test`), {
        'x-forwarded-for': client,
      });
      expect(response.statusCode).toBe(401);
    }
    expect((await login(proxied, '10.9.9.9', wrong(), { 'x-forwarded-for': client })).statusCode).toBe(429);
    // Another client behind the same proxy still signs in.
    const other = `203.0.113.${(addresses += 1)}`;
    expect(
      (await login(proxied, '10.9.9.9', { email, password: PASSWORD }, { 'x-forwarded-for': other }))
        .statusCode,
    ).toBe(200);
  });
});

describe('other sign-in endpoints', () => {
  it('counts failed invitation accepts and MFA verifications towards the same limit', async () => {
    const ip = freshIp();
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const accept = await first.app.inject({
        method: 'POST',
        url: '/v1/auth/invitations/accept',
        payload: { token: `platform.${'A'.repeat(43)}`, name: 'Guess', password: PASSWORD },
        remoteAddress: ip,
      });
      expect(accept.statusCode).toBe(401);
      const verify = await second.app.inject({
        method: 'POST',
        url: '/v1/auth/mfa/verify',
        payload: { mfaToken: 'fcm.k.x.y.z', code: '123456' },
        remoteAddress: ip,
      });
      expect(verify.statusCode).toBe(401);
    }
    expect((await login(first, ip, { email, password: PASSWORD })).statusCode).toBe(429);
  });

  it('caps all attempts from one address, successful or not (AUTH_ATTEMPT_CEILING)', async () => {
    const capped = await startTestApi({ shareDatabaseWith: first, env: { AUTH_ATTEMPT_CEILING: '5' } });
    try {
      const ip = freshIp();
      for (let attempt = 0; attempt < 5; attempt += 1) {
        expect((await login(capped, ip, { email, password: PASSWORD })).statusCode).toBe(200);
      }
      expect((await login(capped, ip, { email, password: PASSWORD })).statusCode).toBe(429);
    } finally {
      await capped.close();
    }
  });
});

describe('per-account back-off', () => {
  it('refuses even the right password after repeated failures from many addresses', async () => {
    const target = `backoff.${Date.now()}@example.test`;
    await first.app.get(PlatformOwners).create(target, 'Back-off Owner', PASSWORD);
    for (let attempt = 0; attempt < 5; attempt += 1) {
      expect((await login(first, freshIp(), wrong(target))).statusCode).toBe(401);
    }
    const refused = await login(second, freshIp(), { email: target, password: PASSWORD });
    expect(refused.statusCode).toBe(401);
    // Same answer as any bad credential: nothing tells an attacker the account exists.
    const unknown = await login(second, freshIp(), wrong('nobody-at-all@example.test'));
    expect(refused.json<{ detail: string }>().detail).toBe(unknown.json<{ detail: string }>().detail);
  });
});
