import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@forecourt/config';
import { newId, type PlatformRole, type Principal } from '@forecourt/core';
import { TenantTransaction } from '@forecourt/database';
import { KeyStore } from './key-store';
import { randomSecret, sha256, signToken, verifyToken } from './signed-token';

export interface IssuedSession {
  token: string;
  expiresAt: Date;
}

/**
 * The live session of a token, with its user's platform role and permissions version. A request
 * moves `last_seen_at` (the idle clock) only when it is more than a minute old: a read-only check
 * on almost every request instead of a row write, at the price of an idle expiry up to a minute
 * early.
 */
const CHECK_SESSION = `with live as (
    select s.id, s.last_seen_at, u.platform_role, u.permissions_version
      from sessions s join users u on u.id = s.user_id
     where s.user_id = $1 and s.token_hash = $2 and s.revoked_at is null
       and s.expires_at > now() and s.last_seen_at > now() - make_interval(mins => $3)
       and u.status = 'active'
  ), touched as (
    update sessions s set last_seen_at = now()
      from live where s.id = live.id and live.last_seen_at < now() - interval '1 minute'
  )
  select id, platform_role, permissions_version from live`;

/**
 * Server-side sessions: the token is a random secret signed with the key ring; only its hash is
 * stored. Every request re-reads the session row, so logout, revocation and deactivation take
 * effect at once on every instance.
 */
@Injectable()
export class Sessions {
  constructor(
    private readonly keys: KeyStore,
    private readonly transactions: TenantTransaction,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async issue(userId: string): Promise<IssuedSession> {
    const secret = randomSecret();
    const expiresAt = new Date(Date.now() + this.config.sessionAbsoluteHours * 3_600_000);
    await this.transactions.statement(
      { tenantId: null, stores: [], userId },
      `insert into sessions (id, user_id, token_hash, expires_at) values ($1, $2, $3, $4)`,
      [newId(), userId, sha256(secret), expiresAt],
    );
    return { token: signToken(this.keys.ring, { kind: 'fcs', userId, body: secret }), expiresAt };
  }

  /** The principal of a live session, or null (bad signature, retired key, expired, revoked, deactivated). */
  async authenticate(token: string): Promise<Principal | null> {
    const keyId = token.split('.')[1];
    if (keyId) await this.keys.ensureKnown(keyId);
    const parsed = verifyToken(this.keys.ring, 'fcs', token);
    if (!parsed) return null;
    const { rows } = await this.transactions.statement<{
      id: string;
      platform_role: PlatformRole | null;
      permissions_version: string;
    }>(
      { tenantId: null, stores: [], userId: parsed.userId },
      CHECK_SESSION,
      [parsed.userId, sha256(parsed.body), this.config.sessionIdleMinutes],
      { prepared: true },
    );
    const row = rows[0];
    return row
      ? {
          userId: parsed.userId,
          sessionId: row.id,
          platformRole: row.platform_role,
          permissionsVersion: row.permissions_version,
        }
      : null;
  }

  async revoke(principal: Principal): Promise<void> {
    await this.transactions.statement(
      { tenantId: null, stores: [], userId: principal.userId },
      `update sessions set revoked_at = now() where id = $1 and revoked_at is null`,
      [principal.sessionId],
    );
  }
}
