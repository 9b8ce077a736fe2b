import { performance } from 'node:perf_hooks';
import { generateSync } from 'otplib';
import type { BenchOwner } from './bench-server-protocol';

/** An owner whose MFA is active: a session, and recovery codes not used yet. */
interface EnrolledOwner extends BenchOwner {
  token: string;
  unusedCodes: string[];
}

/** One measured sign-in, in milliseconds. */
export interface SignInTiming {
  login: number;
  verify: number;
  total: number;
}

/**
 * Login + MFA verify round trips over HTTP, one at a time (concurrency 1), with `fetch` on a
 * keep-alive connection. A TOTP code works once per user and 30 s step, so the second step uses
 * the recovery codes each owner got when it enrolled (ten each; each works once): the login and
 * verify endpoints, the rate-limit bookkeeping, the sealed secret and the new session are the
 * same as with a TOTP code.
 */
export class SignInBench {
  private constructor(
    private readonly origin: string,
    private readonly owners: EnrolledOwner[],
  ) {}

  /** Enrolls every owner: login → enroll → verify with the current TOTP code. */
  static async enroll(origin: string, owners: readonly BenchOwner[]): Promise<SignInBench> {
    const enrolled: EnrolledOwner[] = [];
    for (const owner of owners) {
      const step = await post<{ status: string; mfaToken: string }>(origin, '/v1/auth/login', owner);
      if (step.status !== 'mfa_enrollment_required') throw new Error(`login answered ${step.status}`);
      const { secret } = await post<{ secret: string }>(origin, '/v1/auth/mfa/enroll', {
        mfaToken: step.mfaToken,
      });
      const session = await post<{ token: string; recoveryCodes?: string[] }>(origin, '/v1/auth/mfa/verify', {
        mfaToken: step.mfaToken,
        code: generateSync({ secret }),
      });
      if (session.recoveryCodes?.length !== 10)
        throw new Error('the first verify returned no recovery codes');
      enrolled.push({ ...owner, token: session.token, unusedCodes: session.recoveryCodes });
    }
    return new SignInBench(origin, enrolled);
  }

  /** One live session token per owner (from enrolling). */
  get tokens(): string[] {
    return this.owners.map((owner) => owner.token);
  }

  /** Round trips left: one per unused recovery code. */
  get remaining(): number {
    return this.owners.reduce((sum, owner) => sum + owner.unusedCodes.length, 0);
  }

  /** `count` sign-ins one after the other, each by the owner with the most codes left. */
  async run(count: number): Promise<SignInTiming[]> {
    if (count > this.remaining) throw new Error(`${count} sign-ins asked for, ${this.remaining} codes left`);
    const timings: SignInTiming[] = [];
    for (let index = 0; index < count; index++) {
      const owner = this.owners.reduce((best, candidate) =>
        candidate.unusedCodes.length > best.unusedCodes.length ? candidate : best,
      );
      const code = owner.unusedCodes.pop()!;
      const started = performance.now();
      const step = await post<{ status: string; mfaToken: string }>(this.origin, '/v1/auth/login', {
        email: owner.email,
        password: owner.password,
      });
      const passwordDone = performance.now();
      const session = await post<{ token?: string }>(this.origin, '/v1/auth/mfa/verify', {
        mfaToken: step.mfaToken,
        code,
      });
      const finished = performance.now();
      if (step.status !== 'mfa_required' || !session.token)
        throw new Error('the sign-in did not open a session');
      timings.push({
        login: passwordDone - started,
        verify: finished - passwordDone,
        total: finished - started,
      });
    }
    return timings;
  }
}

async function post<T>(origin: string, path: string, body: object): Promise<T> {
  const response = await fetch(`${origin}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`POST ${path} answered ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}
