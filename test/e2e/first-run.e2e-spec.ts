import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiProcess, SignInClient } from '@forecourt/test-harness';

const CLI_ENTRY = join(__dirname, '..', '..', 'dist', 'apps', 'cli', 'src', 'main.js');
const PASSWORD = 'a long first-run passphrase';

/** `npm run cli -- <args>` without the build step: the compiled CLI, password on stdin. */
function cli(args: string[], env: Record<string, string>, stdin: string) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [CLI_ENTRY, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

async function post(api: ApiProcess, path: string, body: object) {
  const response = await fetch(api.url(path), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, string> };
}

describe('the first run', () => {
  let dataDir: string;
  let api: ApiProcess;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'forecourt-first-run-'));
    chmodSync(dataDir, 0o755);
    api = await ApiProcess.start({ DATA_DIR: dataDir });
    await api.waitUntilReady();
  }, 90_000); // past waitUntilReady's own 60 s, so its error (with the API's output) is the one reported

  afterAll(async () => {
    await api.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('owner:create → login → enroll → verify → /v1/auth/me shows platform_owner, and nothing secret is logged', async () => {
    expect(api.stdout).toContain(
      'npm run cli -- owner:create --email <email> --name <name> --password-stdin',
    );

    const weak = await cli(
      ['owner:create', '--email', 'olive@example.test', '--name', 'Olive', '--password-stdin'],
      { DATA_DIR: dataDir },
      'short',
    );
    expect(weak.code).not.toBe(0);
    expect(weak.stderr.trim().split('\n')).toHaveLength(1);
    expect(weak.stderr).toMatch(/password: must be at least 12 characters/);

    // Runs while the API holds DATA_DIR: the CLI shares its running database.
    const created = await cli(
      ['owner:create', '--email', 'Olive@Example.test', '--name', 'Olive Owner', '--password-stdin'],
      { DATA_DIR: dataDir },
      `${PASSWORD}\n`,
    );
    expect(created).toMatchObject({ code: 0 });
    const userId = created.stdout.trim().split('\n').pop();
    expect(userId).toMatch(/^[0-9a-f-]{36}$/);

    const login = await post(api, '/v1/auth/login', { email: 'olive@example.test', password: PASSWORD });
    expect(login).toMatchObject({ status: 200, body: { status: 'mfa_enrollment_required' } });
    const enroll = await post(api, '/v1/auth/mfa/enroll', { mfaToken: login.body.mfaToken! });
    expect(enroll.status).toBe(200);
    expect(enroll.body.otpauthUrl).toMatch(/^otpauth:\/\/totp\//);
    const verify = await post(api, '/v1/auth/mfa/verify', {
      mfaToken: login.body.mfaToken!,
      code: SignInClient.code(enroll.body.secret!),
    });
    expect(verify.status).toBe(200);

    const me = await fetch(api.url('/v1/auth/me'), {
      headers: { authorization: `Bearer ${verify.body.token}` },
    });
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual({
      user: { id: userId, email: 'olive@example.test', name: 'Olive Owner' },
      platformRole: 'platform_owner',
      memberships: [],
    });

    await new Promise((resolve) => setTimeout(resolve, 200));
    const logs = api.stdout + api.stderr;
    const recoveryCodes = (verify.body as unknown as { recoveryCodes: string[] }).recoveryCodes;
    for (const secret of [
      PASSWORD,
      enroll.body.secret!,
      verify.body.token!,
      login.body.mfaToken!,
      ...recoveryCodes,
    ]) {
      expect(logs).not.toContain(secret);
    }
    expect(logs).toContain('/v1/auth/mfa/verify');
  });
});
