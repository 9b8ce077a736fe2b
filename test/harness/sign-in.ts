import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { generateSync } from 'otplib';

export interface SignedIn {
  token: string;
  secret: string;
  recoveryCodes: string[];
}

type Json = Record<string, unknown>;

/** A small client for the sign-in contract, over the app's real HTTP pipeline. */
export class SignInClient {
  constructor(private readonly app: NestFastifyApplication) {}

  async post(url: string, payload: Json, headers: Record<string, string> = {}) {
    const response = await this.app.inject({ method: 'POST', url, payload, headers });
    return {
      status: response.statusCode,
      body: (response.body ? response.json() : null) as Json,
      headers: response.headers,
    };
  }

  async get(url: string, token?: string) {
    const response = await this.app.inject({
      method: 'GET',
      url,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    return { status: response.statusCode, body: (response.body ? response.json() : null) as Json };
  }

  /** A code for `secret` at `offsetSteps` time steps from now (+1: the next step, still accepted). */
  static code(secret: string, offsetSteps = 0): string {
    return generateSync({ secret, epoch: Math.floor(Date.now() / 1000) + offsetSteps * 30 });
  }

  async mfaToken(email: string, password: string): Promise<string> {
    const login = await this.post('/v1/auth/login', { email, password });
    if (login.status !== 200) throw new Error(`login answered ${login.status}`);
    return login.body.mfaToken as string;
  }

  /** First sign-in: password, enrollment, the first code; returns the session and MFA material. */
  async enroll(email: string, password: string): Promise<SignedIn> {
    const mfaToken = await this.mfaToken(email, password);
    const enrollment = await this.post('/v1/auth/mfa/enroll', { mfaToken });
    const secret = enrollment.body.secret as string;
    const verify = await this.post('/v1/auth/mfa/verify', { mfaToken, code: SignInClient.code(secret) });
    if (verify.status !== 200) throw new Error(`verify answered ${verify.status}`);
    return {
      token: verify.body.token as string,
      secret,
      recoveryCodes: verify.body.recoveryCodes as string[],
    };
  }

  /** A further session, paid for with one recovery code (TOTP codes are single-use per step). */
  async sessionWithRecoveryCode(email: string, password: string, recoveryCode: string): Promise<string> {
    const mfaToken = await this.mfaToken(email, password);
    const verify = await this.post('/v1/auth/mfa/verify', { mfaToken, code: recoveryCode });
    if (verify.status !== 200) throw new Error(`verify answered ${verify.status}`);
    return verify.body.token as string;
  }
}
