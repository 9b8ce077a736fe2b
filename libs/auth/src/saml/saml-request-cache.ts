import type { CacheItem, CacheProvider } from '@node-saml/node-saml';
import type { TenantQueries } from '@forecourt/database';

/** How long an AuthnRequest may be answered: a sign-in at the IdP takes minutes, not hours. */
export const REQUEST_TTL_MS = 10 * 60_000;

/**
 * node-saml's store of the AuthnRequest ids it sent (for `InResponseTo`), in PostgreSQL so that
 * every instance sees every request: one tenant's rows, read and written in that tenant's context.
 * A saved request carries the RelayState key the login generated and the path to return to.
 */
export class SamlRequestCache implements CacheProvider {
  constructor(
    private readonly db: TenantQueries,
    private readonly relay: { key: string; returnTo: string | null } | null = null,
  ) {}

  async saveAsync(key: string, value: string): Promise<CacheItem | null> {
    if (!this.relay) throw new Error('a request is saved only by a login, which brings its RelayState');
    const { rows } = await this.db.query<{ created_at: Date }>(
      `insert into saml_requests (tenant_id, id, relay_key, return_to, expires_at)
       values ($1, $2, $3, $4, now() + make_interval(secs => $5))
       on conflict do nothing returning created_at`,
      [this.db.scope.tenantId, key, this.relay.key, this.relay.returnTo, REQUEST_TTL_MS / 1000],
    );
    return rows[0] ? { value, createdAt: rows[0].created_at.getTime() } : null;
  }

  /** The time the request was sent (node-saml reads the value as that instant). */
  async getAsync(key: string): Promise<string | null> {
    const { rows } = await this.db.query<{ created_at: Date }>(
      'select created_at from saml_requests where tenant_id = $1 and id = $2 and expires_at > now()',
      [this.db.scope.tenantId, key],
    );
    return rows[0] ? rows[0].created_at.toISOString() : null;
  }

  async removeAsync(key: string | null): Promise<string | null> {
    if (key === null) return null;
    const { rows } = await this.db.query<{ id: string }>(
      'delete from saml_requests where tenant_id = $1 and id = $2 returning id',
      [this.db.scope.tenantId, key],
    );
    return rows[0]?.id ?? null;
  }
}
