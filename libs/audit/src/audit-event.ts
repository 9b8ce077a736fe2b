import type { RequestContext } from '@forecourt/core';

/** The chain of what happens outside any tenant (sign-in of unknown e-mails, platform staff work). */
export const PLATFORM_CHAIN = '00000000-0000-0000-0000-000000000000';

export type AuditOutcome = 'allowed' | 'denied';

/** What a service says happened; who, when and from where come from the request context. */
export interface AuditEntry {
  /** `<subject>.<verb>`, lower case: `user.read`, `membership.update`, `auth.login.failed`. */
  action: string;
  subjectType: string;
  subjectId?: string | null;
  /** A list read names every id it returned. */
  subjectIds?: readonly string[] | null;
  storeId?: string | null;
  outcome?: AuditOutcome;
  /** A short, fixed reason (never a value the caller typed). */
  reason?: string | null;
  /** For updates: the names of the fields that changed, never their values. */
  changedFields?: readonly string[] | null;
  /** Override who acted, for a caller not yet signed in (e.g. someone accepting an invitation). */
  actorId?: string;
  /** Overrides the role taken from the context (e.g. the role an invitation grants). */
  actorRole?: string;
}

/**
 * One event exactly as it is chained: every field here is covered by its hash. Optional text is
 * null, never '' (so a CSV export, where both are an empty cell, reads back exactly).
 */
export interface AuditEvent {
  tenantId: string;
  id: string;
  /** ISO 8601 with milliseconds, UTC. */
  at: string;
  actorId: string | null;
  actorRole: string;
  supportGrantId: string | null;
  action: string;
  subjectType: string;
  subjectId: string | null;
  subjectIds: string[] | null;
  storeId: string | null;
  requestId: string | null;
  ip: string | null;
  userAgent: string | null;
  outcome: AuditOutcome;
  reason: string | null;
  changedFields: string[] | null;
}

/** A sealed event: numbered and linked into its chain. */
export interface SealedAuditEvent extends AuditEvent {
  seq: number;
  /** Hex SHA-256 of the previous event (64 zeros for the first). */
  prevHash: string;
  hash: string;
}

const MAX_USER_AGENT = 512;

/** Who acted: the verified principal and its role where it acted, or `system` for jobs. */
export function actorOf(ctx: RequestContext | null): { actorId: string | null; actorRole: string } {
  if (!ctx) return { actorId: null, actorRole: 'system' };
  const principal = ctx.principal;
  return {
    actorId: principal?.userId ?? null,
    actorRole: ctx.tenant?.role ?? principal?.platformRole ?? (principal ? 'user' : 'anonymous'),
  };
}

/** The event a service's entry becomes in `tenantId`'s chain. */
export function auditEvent(
  tenantId: string,
  id: string,
  ctx: RequestContext | null,
  entry: AuditEntry,
  at: Date = new Date(),
): AuditEvent {
  const actor = actorOf(ctx);
  return {
    tenantId,
    id,
    at: at.toISOString(),
    actorId: entry.actorId ?? actor.actorId,
    actorRole: entry.actorRole ?? actor.actorRole,
    supportGrantId: ctx?.tenant?.supportGrantId ?? null,
    action: entry.action,
    subjectType: entry.subjectType,
    subjectId: entry.subjectId || null,
    subjectIds: entry.subjectIds ? [...entry.subjectIds] : null,
    storeId: entry.storeId || null,
    requestId: ctx?.requestId || null,
    ip: ctx?.ip || null,
    // Whole characters: a cut surrogate pair is not valid JSON text for PostgreSQL.
    userAgent: ctx?.userAgent ? Array.from(ctx.userAgent).slice(0, MAX_USER_AGENT).join('') : null,
    outcome: entry.outcome ?? 'allowed',
    reason: entry.reason || null,
    changedFields: entry.changedFields ? [...entry.changedFields].sort() : null,
  };
}
