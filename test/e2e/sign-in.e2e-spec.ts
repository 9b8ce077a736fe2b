import { createHash } from 'node:crypto';
import { Pool } from 'pg';
import { KeyStore, PlatformOwners } from '@forecourt/auth';
import { SignInClient, startTestApi, TestApi } from '@forecourt/test-harness';

const PASSWORD = 'correct horse battery staple';
let api: TestApi;
let client: SignInClient;
let admin: Pool;
let owners: PlatformOwners;

beforeAll(async () => {
  // Many deliberate failures from one address here; the limits have their own spec.
  api = await startTestApi({ env: { AUTH_FAILED_LIMIT: '1000' } });
  client = new SignInClient(api.app);
  admin = new Pool({ connectionString: api.db.adminUrl, max: 2 });
  owners = api.app.get(PlatformOwners);
});

afterAll(async () => {
  await admin.end();
  await api.close();
});

let counter = 0;
async function newOwner(): Promise<string> {
  counter += 1;
  const email = `owner${counter}.${Date.now()}@example.test`;
  await owners.create(email, `Owner ${counter}`, PASSWORD);
  return email;
}

describe('password step', () => {
  it('answers an unknown e-mail and a wrong password with the same 401', async () => {
    const email = await newOwner();
    const unknown = await client.post('/v1/auth/login', { email: 'nobody@example.test', password: PASSWORD });
    const wrong = await client.post('/v1/auth/login', { email, password: 'not the password at all' });
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    const strip = (body: Record<string, unknown>) => ({ ...body, requestId: undefined });
    expect(strip(unknown.body)).toEqual(strip(wrong.body));
  });

  it('takes about the same time for an unknown e-mail as for a wrong password', async () => {
    // Three accounts, three failures each: under the per-account back-off (5), so every sample
    // checks a real password hash.
    const emails = [await newOwner(), await newOwner(), await newOwner()];
    const timeOne = async (body: Record<string, string>) => {
      const started = process.hrtime.bigint();
      await client.post('/v1/auth/login', body);
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    // Interleaved, so a change in the machine's load during the test weighs on both alike; the
    // medians then differ by the work each path does (without argon2, unknown would be ~100× faster).
    const unknownSamples: number[] = [];
    const wrongSamples: number[] = [];
    for (let i = 0; i < 9; i += 1) {
      unknownSamples.push(await timeOne({ email: 'nobody@example.test', password: PASSWORD }));
      wrongSamples.push(await timeOne({ email: emails[i % 3]!, password: 'not the password at all' }));
    }
    const median = (samples: number[]) => [...samples].sort((a, b) => a - b)[4]!;
    const unknown = median(unknownSamples);
    const wrong = median(wrongSamples);
    expect(unknown / wrong).toBeGreaterThan(0.5);
    expect(unknown / wrong).toBeLessThan(2);
  });

  it('asks for enrollment first, then for a code once MFA is active', async () => {
    const email = await newOwner();
    const first = await client.post('/v1/auth/login', { email, password: PASSWORD });
    expect(first).toMatchObject({ status: 200, body: { status: 'mfa_enrollment_required' } });
    await client.enroll(email, PASSWORD);
    const again = await client.post('/v1/auth/login', { email, password: PASSWORD });
    expect(again).toMatchObject({ status: 200, body: { status: 'mfa_required' } });
  });
});

describe('TOTP step', () => {
  it('activates MFA with the first code and returns ten recovery codes, once', async () => {
    const email = await newOwner();
    const signedIn = await client.enroll(email, PASSWORD);
    expect(signedIn.recoveryCodes).toHaveLength(10);
    expect(new Set(signedIn.recoveryCodes).size).toBe(10);
    const mfaToken = await client.mfaToken(email, PASSWORD);
    const next = await client.post('/v1/auth/mfa/verify', {
      mfaToken,
      code: SignInClient.code(signedIn.secret, 1),
    });
    expect(next.status).toBe(200);
    expect(next.body.recoveryCodes).toBeUndefined();
  });

  it('refuses to enroll again once MFA is active', async () => {
    const email = await newOwner();
    await client.enroll(email, PASSWORD);
    const mfaToken = await client.mfaToken(email, PASSWORD);
    expect((await client.post('/v1/auth/mfa/enroll', { mfaToken })).status).toBe(409);
  });

  it('refuses a reused code and a wrong code', async () => {
    const email = await newOwner();
    const { secret } = await client.enroll(email, PASSWORD);
    const reused = await client.post('/v1/auth/mfa/verify', {
      mfaToken: await client.mfaToken(email, PASSWORD),
      code: SignInClient.code(secret),
    });
    expect(reused.status).toBe(401);
    const code = SignInClient.code(secret, 1);
    const wrongCode = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    const wrong = await client.post('/v1/auth/mfa/verify', {
      mfaToken: await client.mfaToken(email, PASSWORD),
      code: wrongCode,
    });
    expect(wrong.status).toBe(401);
  });

  it('accepts a recovery code once only', async () => {
    const email = await newOwner();
    const { recoveryCodes } = await client.enroll(email, PASSWORD);
    const first = await client.post('/v1/auth/mfa/verify', {
      mfaToken: await client.mfaToken(email, PASSWORD),
      code: recoveryCodes[0]!,
    });
    expect(first.status).toBe(200);
    const second = await client.post('/v1/auth/mfa/verify', {
      mfaToken: await client.mfaToken(email, PASSWORD),
      code: recoveryCodes[0]!,
    });
    expect(second.status).toBe(401);
  });

  it('refuses a tampered or foreign MFA token', async () => {
    const email = await newOwner();
    const mfaToken = await client.mfaToken(email, PASSWORD);
    const tampered = mfaToken.slice(0, -2) + (mfaToken.endsWith('A') ? 'BB' : 'AA');
    expect((await client.post('/v1/auth/mfa/enroll', { mfaToken: tampered })).status).toBe(401);
    expect((await client.post('/v1/auth/mfa/enroll', { mfaToken: 'fcm.x.y.z.w' })).status).toBe(401);
  });
});

describe('sessions', () => {
  it('/v1/auth/me describes the signed-in platform owner', async () => {
    const email = await newOwner();
    const { token } = await client.enroll(email, PASSWORD);
    const me = await client.get('/v1/auth/me', token);
    expect(me).toMatchObject({
      status: 200,
      body: { user: { email, name: `Owner ${counter}` }, platformRole: 'platform_owner', memberships: [] },
    });
  });

  it('refuses a request without a token, or with a flipped byte', async () => {
    const email = await newOwner();
    const { token } = await client.enroll(email, PASSWORD);
    expect((await client.get('/v1/auth/me')).status).toBe(401);
    const flipped = token.slice(0, 60) + (token[60] === 'a' ? 'b' : 'a') + token.slice(61);
    expect((await client.get('/v1/auth/me', flipped)).status).toBe(401);
    expect((await client.get('/v1/auth/me', token)).status).toBe(200);
  });

  it('ends the session at logout, for the very next request', async () => {
    const email = await newOwner();
    const { token } = await client.enroll(email, PASSWORD);
    const logout = await api.app.inject({
      method: 'POST',
      url: '/v1/auth/logout',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(logout.statusCode).toBe(204);
    expect((await client.get('/v1/auth/me', token)).status).toBe(401);
  });

  it('refuses the token of an expired session and of a deactivated user', async () => {
    const email = await newOwner();
    const { token, recoveryCodes } = await client.enroll(email, PASSWORD);
    const other = await client.sessionWithRecoveryCode(email, PASSWORD, recoveryCodes[0]!);
    await admin.query(
      `update sessions set expires_at = now() - interval '1 second'
        where user_id = (select id from users where email = $1) and created_at = (select min(created_at) from sessions s2 where s2.user_id = sessions.user_id)`,
      [email],
    );
    expect((await client.get('/v1/auth/me', token)).status).toBe(401);
    expect((await client.get('/v1/auth/me', other)).status).toBe(200);
    await admin.query(`update users set status = 'deactivated' where email = $1`, [email]);
    expect((await client.get('/v1/auth/me', other)).status).toBe(401);
  });

  it('ends a session left idle longer than SESSION_IDLE_MINUTES (default 30)', async () => {
    const email = await newOwner();
    const { token, recoveryCodes } = await client.enroll(email, PASSWORD);
    const busy = await client.sessionWithRecoveryCode(email, PASSWORD, recoveryCodes[0]!);
    await admin.query(
      `update sessions set last_seen_at = now() - interval '31 minutes'
        where user_id = (select id from users where email = $1)`,
      [email],
    );
    expect((await client.get('/v1/auth/me', token)).status).toBe(401);
    expect((await client.get('/v1/auth/me', busy)).status).toBe(401);
    const fresh = await client.sessionWithRecoveryCode(email, PASSWORD, recoveryCodes[1]!);
    await admin.query(
      `update sessions set last_seen_at = now() - interval '29 minutes'
        where user_id = (select id from users where email = $1) and revoked_at is null and last_seen_at > now() - interval '1 minute'`,
      [email],
    );
    expect((await client.get('/v1/auth/me', fresh)).status).toBe(200);
  });

  it('moves the idle clock only when it is more than a minute old (no write on every request)', async () => {
    const email = await newOwner();
    const { token } = await client.enroll(email, PASSWORD);
    const lastSeen = async (ago: string) => {
      await admin.query(
        `update sessions set last_seen_at = now() - $2::interval
          where user_id = (select id from users where email = $1)`,
        [email, ago],
      );
      expect((await client.get('/v1/auth/me', token)).status).toBe(200);
      const { rows } = await admin.query<{ age: number }>(
        `select extract(epoch from now() - last_seen_at)::float8 as age
           from sessions where user_id = (select id from users where email = $1)`,
        [email],
      );
      return rows[0]!.age;
    };
    const recent = await lastSeen('50 seconds');
    expect(recent).toBeGreaterThanOrEqual(50);
    const stale = await lastSeen('5 minutes');
    expect(stale).toBeLessThan(5);
  });

  it('keeps tokens of the previous key working after a rotation, until that key is retired', async () => {
    const keys = api.app.get(KeyStore);
    const email = await newOwner();
    const { token, recoveryCodes } = await client.enroll(email, PASSWORD);
    const previousKey = keys.ring.currentKeyId;
    const newKey = await keys.rotateSigningKey();
    expect(newKey).not.toBe(previousKey);
    expect((await client.get('/v1/auth/me', token)).status).toBe(200);
    const fresh = await client.sessionWithRecoveryCode(email, PASSWORD, recoveryCodes[0]!);
    expect(fresh).toContain(`.${newKey}.`);
    await keys.retireSigningKey(previousKey);
    expect((await client.get('/v1/auth/me', token)).status).toBe(401);
    expect((await client.get('/v1/auth/me', fresh)).status).toBe(200);
  });
});

describe('sign-in events', () => {
  it('records every attempt, failed or not, without credentials', async () => {
    const email = await newOwner();
    await client.post('/v1/auth/login', { email, password: 'not the password at all' });
    const { secret, token, recoveryCodes } = await client.enroll(email, PASSWORD);
    const { rows } = await admin.query<{ action: string; outcome: string; reason: string | null }>(
      `select e.action, e.outcome, e.reason from audit_events e join users u on u.id = e.actor_id
        where u.email = $1 and e.tenant_id = '00000000-0000-0000-0000-000000000000' order by e.at, e.id`,
      [email],
    );
    expect(rows.map((row) => `${row.action}:${row.outcome}:${row.reason ?? ''}`)).toEqual([
      'auth.login.failed:denied:wrong password',
      'auth.login.succeeded:allowed:',
      'auth.mfa.enroll.succeeded:allowed:',
      'auth.mfa.activated:allowed:',
      'auth.mfa.verify.succeeded:allowed:',
    ]);
    const everything = JSON.stringify((await admin.query('select * from audit_events')).rows);
    for (const secretValue of [PASSWORD, secret, token, ...recoveryCodes])
      expect(everything).not.toContain(secretValue);
  });
});

describe('browser sessions (cookie + CSRF)', () => {
  const cookieHeader = (cookies: { name: string; value: string }[]) =>
    cookies.map((cookie) => `${cookie.name}=${cookie.value}`).join('; ');

  it('sets an HttpOnly, SameSite session cookie and a readable CSRF cookie at verify', async () => {
    const email = await newOwner();
    const mfaToken = await client.mfaToken(email, PASSWORD);
    const secret = (await client.post('/v1/auth/mfa/enroll', { mfaToken })).body.secret as string;
    const verify = await api.app.inject({
      method: 'POST',
      url: '/v1/auth/mfa/verify',
      payload: { mfaToken, code: SignInClient.code(secret) },
    });
    const session = verify.cookies.find((cookie) => cookie.name === 'fc_session')!;
    const csrf = verify.cookies.find((cookie) => cookie.name === 'fc_csrf')!;
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    expect(session.value).toBe(verify.json<{ token: string }>().token);
    expect(csrf.httpOnly).toBeFalsy();
    expect(csrf.value).toBe(verify.json<{ csrfToken: string }>().csrfToken);

    const me = await api.app.inject({
      method: 'GET',
      url: '/v1/auth/me',
      headers: { cookie: cookieHeader([session]) },
    });
    expect(me.statusCode).toBe(200);
  });

  it('refuses a state-changing cookie request without the CSRF token (403), accepts it with the token', async () => {
    const email = await newOwner();
    const { token } = await client.enroll(email, PASSWORD);
    const cookies = cookieHeader([{ name: 'fc_session', value: token }]);
    const without = await api.app.inject({
      method: 'POST',
      url: '/v1/auth/logout',
      headers: { cookie: cookies },
    });
    expect(without.statusCode).toBe(403);
    expect(without.headers['content-type']).toMatch(/problem\+json/);
    const wrong = await api.app.inject({
      method: 'POST',
      url: '/v1/auth/logout',
      headers: { cookie: cookies, 'x-csrf-token': 'forged' },
    });
    expect(wrong.statusCode).toBe(403);
    expect((await client.get('/v1/auth/me', token)).status).toBe(200); // nothing happened

    // Reads are fine without it; the token a browser page echoes is the one verify handed out.
    expect(
      (await api.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { cookie: cookies } })).statusCode,
    ).toBe(200);
    const valid = createHash('sha256').update(`csrf:${token}`).digest('base64url');
    const logout = await api.app.inject({
      method: 'POST',
      url: '/v1/auth/logout',
      headers: { cookie: cookies, 'x-csrf-token': valid },
    });
    expect(logout.statusCode).toBe(204);
    expect(logout.cookies.find((cookie) => cookie.name === 'fc_session')?.value).toBe('');
    expect((await client.get('/v1/auth/me', token)).status).toBe(401);
  });
});

describe('across instances', () => {
  it('ends a session on every instance at once', async () => {
    const other = await startTestApi({ shareDatabaseWith: api, env: { AUTH_FAILED_LIMIT: '1000' } });
    try {
      const email = await newOwner();
      const { token } = await client.enroll(email, PASSWORD);
      const elsewhere = new SignInClient(other.app);
      expect((await elsewhere.get('/v1/auth/me', token)).status).toBe(200);
      await api.app.inject({
        method: 'POST',
        url: '/v1/auth/logout',
        headers: { authorization: `Bearer ${token}` },
      });
      expect((await elsewhere.get('/v1/auth/me', token)).status).toBe(401);
    } finally {
      await other.close();
    }
  });
});

describe('behind https', () => {
  it('marks the session cookies Secure when PUBLIC_URL is https', async () => {
    const secure = await startTestApi({
      shareDatabaseWith: api,
      env: { PUBLIC_URL: 'https://forecourt.example.test', AUTH_FAILED_LIMIT: '1000' },
    });
    try {
      const email = await newOwner();
      const secureClient = new SignInClient(secure.app);
      const mfaToken = await secureClient.mfaToken(email, PASSWORD);
      const secret = (await secureClient.post('/v1/auth/mfa/enroll', { mfaToken })).body.secret as string;
      const verify = await secure.app.inject({
        method: 'POST',
        url: '/v1/auth/mfa/verify',
        payload: { mfaToken, code: SignInClient.code(secret) },
      });
      expect(verify.cookies.map((cookie) => [cookie.name, cookie.secure])).toEqual([
        ['fc_session', true],
        ['fc_csrf', true],
      ]);
    } finally {
      await secure.close();
    }
  });

  it('accepts a token signed by a key another instance has just rotated in', async () => {
    const other = await startTestApi({ shareDatabaseWith: api, env: { AUTH_FAILED_LIMIT: '1000' } });
    try {
      const email = await newOwner();
      // The other instance loaded its keys at start; it reloads on an unknown key id at most once a second.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await api.app.get(KeyStore).rotateSigningKey(); // this instance signs with the new key at once
      const { token } = await client.enroll(email, PASSWORD);
      expect((await new SignInClient(other.app).get('/v1/auth/me', token)).status).toBe(200);
    } finally {
      await other.close();
    }
  });
});
