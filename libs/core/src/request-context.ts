export type PlatformRole = 'platform_owner' | 'platform_support';

/** Who an authenticated request acts as: set only from a verified session. */
export interface Principal {
  userId: string;
  sessionId: string;
  platformRole: PlatformRole | null;
  /**
   * The person's permissions version, read with the session on every request: any change of
   * their memberships or support grants moves it, so access cached under it is never stale.
   */
  permissionsVersion?: string;
}

/** The tenant a request acts in, set only by the access guard from a verified membership. */
export interface TenantAccess {
  tenantId: string;
  role: string;
  /** 'all' or the store ids of the membership. */
  stores: 'all' | readonly string[];
  /** Platform staff acting under a support grant: its id (every audit event carries it). */
  supportGrantId?: string | null;
}

/**
 * What a unit of work acts for. Every service method takes it first, so a reader sees on whose
 * behalf a call runs and a test can build one without an HTTP request. Later capabilities add
 * the tenant and store scope here.
 */
export interface RequestContext {
  requestId: string;
  ip: string | null;
  userAgent: string | null;
  /** null until a session guard has verified the caller. */
  principal: Principal | null;
  /** null outside `/v1/tenants/:tenantId/...` routes. */
  tenant: TenantAccess | null;
}

export const REQUEST_ID_HEADER = 'x-request-id';

const CALLER_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's request id when it is a sane token, else a new one. */
export function requestIdFrom(header: unknown, generate: () => string): string {
  return typeof header === 'string' && CALLER_REQUEST_ID.test(header) ? header : generate();
}
