import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { newId, type Principal, type RequestContext } from '@forecourt/core';
import { open, seal } from '@forecourt/crypto';
import { TenantScope, TenantTransaction } from '@forecourt/database';
import { DataSource } from 'typeorm';
import { AuthError, AuthErrorCode } from './auth-error';
import { AuthAttempts } from './auth-attempts';
import { AuthEvents } from './auth-events';
import { KeyStore } from './key-store';
import { PasswordHasher } from './password-hasher';
import { SamlError } from './saml/saml-error';
import { SsoEnforcement } from './saml/sso-enforcement';
import { IssuedSession, Sessions } from './sessions';
import { sha256, signToken, verifyToken } from './signed-token';
import { acceptedTotpStep, newTotpSecret, totpUri } from './totp';

const MFA_TOKEN_TTL_MS = 5 * 60_000;
/** Per-account back-off: from this many consecutive failures on, each further one doubles the wait. */
const BACKOFF_AFTER_FAILURES = 5;
const BACKOFF_MAX_MINUTES = 15;
const RECOVERY_CODES = 10;

export interface SignInStep {
  status: 'mfa_enrollment_required' | 'mfa_required';
  mfaToken: string;
}

export interface Me {
  user: { id: string; email: string; name: string };
  platformRole: 'platform_owner' | 'platform_support' | null;
  memberships: { tenantId: string; role: string; allStores: boolean; storeIds: string[] }[];
}

const asUser = (userId: string): TenantScope => ({ tenantId: null, stores: [], userId });
const mfaSecretContext = (userId: string) => `user:${userId}:mfa-secret`;

/**
 * Readable one-time recovery codes: 10 characters of a 32-letter alphabet without look-alikes
 * (no i, l, o, 1), so `byte % 32` is unbiased: 50 bits each.
 */
function recoveryCode(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz023456789';
  return Array.from(randomBytes(10), (byte) => alphabet[byte % alphabet.length]).join('');
}

/** Password + mandatory TOTP sign-in, per the contract in shared/API.md. */
@Injectable()
export class AuthService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly transactions: TenantTransaction,
    private readonly passwords: PasswordHasher,
    private readonly keys: KeyStore,
    private readonly sessions: Sessions,
    private readonly events: AuthEvents,
    private readonly attempts: AuthAttempts,
    private readonly sso: SsoEnforcement,
  ) {}

  /**
   * Step one. Unknown e-mail, wrong password, deactivated account and an account in back-off
   * all fail alike, in about the same time (a decoy hash is verified when there is no real one).
   */
  login(ctx: RequestContext, email: string, password: string): Promise<SignInStep> {
    return this.attempts.guard(ctx, 'login', () => this.passwordStep(ctx, email, password));
  }

  private async passwordStep(ctx: RequestContext, email: string, password: string): Promise<SignInStep> {
    const [candidate] = await this.dataSource.query<
      {
        id: string;
        password_hash: string | null;
        status: string;
        mfa_enabled: boolean;
        locked_until: Date | null;
      }[]
    >('select id, password_hash, status, mfa_enabled, locked_until from app.sign_in_candidate($1)', [email]);
    const backingOff = candidate?.locked_until != null && candidate.locked_until.getTime() > Date.now();
    const hash = backingOff ? null : (candidate?.password_hash ?? null);
    const passwordMatches = await this.passwords.verify(hash, password);
    if (!candidate || !passwordMatches || candidate.status !== 'active') {
      const reason = !candidate
        ? 'unknown email'
        : backingOff
          ? 'account backing off'
          : !passwordMatches
            ? 'wrong password'
            : 'deactivated';
      if (candidate && !backingOff && !passwordMatches) await this.countFailure(candidate.id);
      await this.events.record(ctx, 'auth.login.failed', candidate?.id ?? null, reason);
      throw new AuthError(AuthErrorCode.InvalidCredentials, 'The e-mail or password is wrong');
    }
    await this.transactions.statement(
      asUser(candidate.id),
      'update users set failed_sign_ins = 0, locked_until = null where id = $1 and failed_sign_ins > 0',
      [candidate.id],
    );
    try {
      await this.sso.assertPasswordAllowed(candidate.id);
    } catch (error) {
      if (error instanceof SamlError)
        await this.events.record(ctx, 'auth.login.failed', candidate.id, 'sso only');
      throw error;
    }
    await this.events.record(ctx, 'auth.login.succeeded', candidate.id);
    return this.mfaStep(candidate.id, candidate.mfa_enabled);
  }

  /** The MFA step for a user whose password was just proven (by login or by accepting an invitation). */
  mfaStep(userId: string, mfaEnabled: boolean): SignInStep {
    return {
      status: mfaEnabled ? 'mfa_required' : 'mfa_enrollment_required',
      mfaToken: signToken(this.keys.ring, {
        kind: 'fcm',
        userId,
        body: String(Date.now() + MFA_TOKEN_TTL_MS),
      }),
    };
  }

  /** A new TOTP secret for a user whose MFA is not active yet (stored sealed). */
  async enroll(ctx: RequestContext, mfaToken: string): Promise<{ secret: string; otpauthUrl: string }> {
    const userId = await this.userOfMfaToken(mfaToken);
    const secret = newTotpSecret();
    const sealed = seal(this.keys.userSecrets, Buffer.from(secret), mfaSecretContext(userId));
    const email = await this.transactions.run(asUser(userId), async (tx) => {
      const { rows } = await tx.query<{ email: string }>(
        `update users set mfa_secret = $2, totp_last_step = null
          where id = $1 and mfa_enabled_at is null returning email`,
        [userId, sealed],
      );
      if (rows[0]) await this.events.record(ctx, 'auth.mfa.enroll.succeeded', userId, null, tx);
      return rows[0]?.email;
    });
    if (!email) {
      await this.events.record(ctx, 'auth.mfa.enroll.failed', userId, 'mfa already active');
      throw new AuthError(AuthErrorCode.MfaAlreadyActive, 'MFA is already active for this account');
    }
    return { secret, otpauthUrl: totpUri(secret, email) };
  }

  /**
   * Step two: a TOTP code (or, once MFA is active, an unused recovery code) opens a session.
   * The first valid code activates MFA and returns the recovery codes, once.
   */
  verify(
    ctx: RequestContext,
    mfaToken: string,
    code: string,
  ): Promise<IssuedSession & { recoveryCodes?: string[] }> {
    return this.attempts.guard(ctx, 'mfa.verify', () => this.codeStep(ctx, mfaToken, code));
  }

  private async codeStep(
    ctx: RequestContext,
    mfaToken: string,
    code: string,
  ): Promise<IssuedSession & { recoveryCodes?: string[] }> {
    const userId = await this.userOfMfaToken(mfaToken);
    const outcome = await this.transactions.run(asUser(userId), async (tx) => {
      const { rows } = await tx.query<{
        mfa_secret: Buffer | null;
        mfa_enabled_at: Date | null;
        totp_last_step: string | null;
      }>(`select mfa_secret, mfa_enabled_at, totp_last_step from users where id = $1 for update`, [userId]);
      const user = rows[0];
      if (!user?.mfa_secret) return { kind: 'not-enrolled' as const };

      const secret = open(this.keys.userSecrets, user.mfa_secret, mfaSecretContext(userId)).toString();
      const lastStep = user.totp_last_step === null ? null : Number(user.totp_last_step);
      const step = acceptedTotpStep(secret, code, lastStep);
      if (step !== null) {
        const activating = user.mfa_enabled_at === null;
        await tx.query(
          `update users set totp_last_step = $2, mfa_enabled_at = coalesce(mfa_enabled_at, now()) where id = $1`,
          [userId, step],
        );
        if (!activating) return { kind: 'ok' as const };
        await this.events.record(ctx, 'auth.mfa.activated', userId, null, tx);
        const codes = Array.from({ length: RECOVERY_CODES }, recoveryCode);
        await tx.query(`delete from recovery_codes where user_id = $1`, [userId]);
        await tx.query(
          `insert into recovery_codes (user_id, id, code_hash)
           select $1, id, hash from unnest($2::uuid[], $3::bytea[]) as c(id, hash)`,
          [userId, codes.map(() => newId()), codes.map(sha256)],
        );
        return { kind: 'ok' as const, recoveryCodes: codes };
      }
      if (user.mfa_enabled_at !== null) {
        const used = await tx.query(
          `update recovery_codes set used_at = now()
            where user_id = $1 and code_hash = $2 and used_at is null returning id`,
          [userId, sha256(code.trim().toLowerCase())],
        );
        if (used.rowCount === 1) {
          await this.events.record(ctx, 'auth.recovery_code.used', userId, null, tx);
          return { kind: 'recovery' as const };
        }
      }
      return { kind: 'invalid' as const };
    });

    switch (outcome.kind) {
      case 'not-enrolled':
        await this.events.record(ctx, 'auth.mfa.verify.failed', userId, 'not enrolled');
        throw new AuthError(AuthErrorCode.MfaNotEnrolled, 'Enroll MFA first');
      case 'invalid':
        await this.events.record(ctx, 'auth.mfa.verify.failed', userId, 'invalid code');
        throw new AuthError(AuthErrorCode.InvalidCode, 'The code is wrong, expired or already used');
      case 'recovery': {
        const session = await this.sessions.issue(userId);
        await this.sso.recordSignIn(ctx, userId);
        return session;
      }
      case 'ok': {
        await this.events.record(ctx, 'auth.mfa.verify.succeeded', userId);
        const session = await this.sessions.issue(userId);
        await this.sso.recordSignIn(ctx, userId);
        return outcome.recoveryCodes ? { ...session, recoveryCodes: outcome.recoveryCodes } : session;
      }
    }
  }

  /** One more consecutive failure; past the threshold the account waits 1, 2, 4 ... 15 minutes. */
  private async countFailure(userId: string): Promise<void> {
    await this.transactions.statement(
      asUser(userId),
      `update users set failed_sign_ins = failed_sign_ins + 1,
              locked_until = case when failed_sign_ins + 1 >= $2
                then now() + make_interval(mins => least(power(2, failed_sign_ins + 1 - $2)::int, $3)) end
        where id = $1`,
      [userId, BACKOFF_AFTER_FAILURES, BACKOFF_MAX_MINUTES],
    );
  }

  async me(principal: Principal): Promise<Me> {
    return this.transactions.run(asUser(principal.userId), async (tx) => {
      const user = (
        await tx.query<{ id: string; email: string; name: string }>(
          'select id, email, name from users where id = $1',
          [principal.userId],
        )
      ).rows[0];
      if (!user) throw new AuthError(AuthErrorCode.Unauthenticated, 'The session has ended');
      const memberships = await tx.query<{
        tenant_id: string;
        role: string;
        all_stores: boolean;
        store_ids: string[];
      }>('select tenant_id, role, all_stores, store_ids from app.own_memberships()');
      return {
        user,
        platformRole: principal.platformRole,
        memberships: memberships.rows.map((m) => ({
          tenantId: m.tenant_id,
          role: m.role,
          allStores: m.all_stores,
          storeIds: m.store_ids,
        })),
      };
    });
  }

  async logout(ctx: RequestContext, principal: Principal): Promise<void> {
    await this.sessions.revoke(principal);
    await this.events.record(ctx, 'auth.logout', principal.userId);
  }

  private async userOfMfaToken(mfaToken: string): Promise<string> {
    const keyId = mfaToken.split('.')[1];
    if (keyId) await this.keys.ensureKnown(keyId);
    const parsed = verifyToken(this.keys.ring, 'fcm', mfaToken);
    if (!parsed || !/^\d+$/.test(parsed.body) || Number(parsed.body) < Date.now()) {
      throw new AuthError(AuthErrorCode.InvalidMfaToken, 'The sign-in step has expired; sign in again');
    }
    return parsed.userId;
  }
}
