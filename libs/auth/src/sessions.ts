import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@forecourt/config';
import { newId, type PlatformRole, type Principal } from '@forecourt/core';
import { type SessionProof, TenantTransaction } from '@forecourt/database';
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

/** How long a checked session's principal is kept for reads (each read still proves it). */
const KNOWN_SESSION_MS = 5 * 60_000;
const KNOWN_SESSION_LIMIT = 10_000;

interface KnownSession {
  principal: Principal;
  proof: SessionProof;
  until: number;
}

/**
 * Server-side sessions: the token is a random secret signed with the key ring; only its hash is
 * stored. Every request checks the session row in the database, so logout, revocation and
 * deactivation take effect at once on every instance: a write by its own statement before the
 * request goes on, a read ({@link authenticateDeferred}) in the statement that starts its first
 * unit of work.
 */
@Injectable()
export class Sessions {
  private readonly known = new Map<string, KnownSession>();

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
    const parsed = await this.verified(token);
    return parsed ? this.checkInFull(parsed.userId, sha256(parsed.body)) : null;
  }

  /**
   * For a read: the principal this instance last checked for `token`, with the check itself
   * deferred to the request's first statement (`TenantTransaction.deferSessionCheck`), which
   * fails before any row comes back if the session has ended or its permissions changed. A token
   * not checked here lately gets the full check of {@link authenticate}. The signature is checked
   * every time, so a retired signing key ends its sessions here too.
   */
  async authenticateDeferred(token: string): Promise<Principal | null> {
    const parsed = await this.verified(token);
    if (!parsed) return null;
    const tokenHash = sha256(parsed.body);
    const known = this.known.get(tokenHash.toString('base64'));
    if (!known || known.until <= Date.now() || known.principal.userId !== parsed.userId)
      return this.checkInFull(parsed.userId, tokenHash);
    this.transactions.deferSessionCheck(known.proof);
    return known.principal;
  }

  private async verified(token: string): Promise<{ userId: string; body: string } | null> {
    const keyId = token.split('.')[1];
    if (keyId) await this.keys.ensureKnown(keyId);
    return verifyToken(this.keys.ring, 'fcs', token);
  }

  /** The session check as its own statement; remembers what it found (by the token's hash, never the token). */
  private async checkInFull(userId: string, tokenHash: Buffer): Promise<Principal | null> {
    this.transactions.deferSessionCheck(null);
    const key = tokenHash.toString('base64');
    const { rows } = await this.transactions.statement<{
      id: string;
      platform_role: PlatformRole | null;
      permissions_version: string;
    }>(
      { tenantId: null, stores: [], userId },
      CHECK_SESSION,
      [userId, tokenHash, this.config.sessionIdleMinutes],
      { prepared: true },
    );
    const row = rows[0];
    this.known.delete(key);
    if (!row) return null;
    const principal: Principal = {
      userId,
      sessionId: row.id,
      platformRole: row.platform_role,
      permissionsVersion: row.permissions_version,
    };
    if (this.known.size >= KNOWN_SESSION_LIMIT) this.known.delete(this.known.keys().next().value!);
    this.known.set(key, {
      principal,
      proof: {
        sessionId: row.id,
        userId,
        tokenHash,
        idleMinutes: this.config.sessionIdleMinutes,
        permissionsVersion: row.permissions_version,
      },
      until: Date.now() + KNOWN_SESSION_MS,
    });
    return principal;
  }

  async revoke(principal: Principal): Promise<void> {
    await this.transactions.statement(
      { tenantId: null, stores: [], userId: principal.userId },
      `update sessions set revoked_at = now() where id = $1 and revoked_at is null`,
      [principal.sessionId],
    );
  }
}
