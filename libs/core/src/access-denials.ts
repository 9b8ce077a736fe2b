import type { RequestContext } from './request-context';

/** A request refused by the authorization wall, as the audit trail records it. */
export interface AccessDenial {
  /** The tenant whose chain records it: the caller's own tenant, or null for the platform's chain. */
  tenantId: string | null;
  /** The caller's role where it was refused, when it has one there. */
  actorRole: string | null;
  subjectType: string;
  subjectId: string | null;
  reason: string;
}

/**
 * Where the authorization wall reports a denial before it answers 403/404. Declared here so that
 * `authz` need not depend on `audit`; the audit library provides it.
 */
export abstract class AccessDenials {
  abstract record(ctx: RequestContext, denial: AccessDenial): Promise<void>;
}
