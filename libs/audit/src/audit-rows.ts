import type { AuditEvent, AuditOutcome, SealedAuditEvent } from './audit-event';

/** The columns of an event, named as {@link AuditEvent}'s fields, `at` already in ISO form. */
export const EVENT_COLUMNS = `tenant_id as "tenantId", id, seq,
  to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as at,
  actor_id as "actorId", actor_role as "actorRole", support_grant_id as "supportGrantId", action,
  subject_type as "subjectType", subject_id as "subjectId", subject_ids as "subjectIds", store_id as "storeId",
  request_id as "requestId", ip, user_agent as "userAgent", outcome, reason, changed_fields as "changedFields",
  encode(prev_hash, 'hex') as "prevHash", encode(hash, 'hex') as hash`;

export interface EventRow extends Omit<AuditEvent, 'outcome'> {
  outcome: string;
  seq: string | null;
  prevHash: string | null;
  hash: string | null;
}

export function eventOf(row: EventRow): AuditEvent {
  return {
    tenantId: row.tenantId,
    id: row.id,
    at: row.at,
    actorId: row.actorId,
    actorRole: row.actorRole,
    supportGrantId: row.supportGrantId,
    action: row.action,
    subjectType: row.subjectType,
    subjectId: row.subjectId,
    subjectIds: row.subjectIds,
    storeId: row.storeId,
    requestId: row.requestId,
    ip: row.ip,
    userAgent: row.userAgent,
    outcome: row.outcome as AuditOutcome,
    reason: row.reason,
    changedFields: row.changedFields,
  };
}

export function sealedEventOf(row: EventRow): SealedAuditEvent {
  if (row.seq === null || row.prevHash === null || row.hash === null)
    throw new Error('the event is not sealed');
  return { ...eventOf(row), seq: Number(row.seq), prevHash: row.prevHash, hash: row.hash };
}

/** Inserts events (a JSON array of {@link AuditEvent}) in one statement. */
export const INSERT_EVENTS = `
  insert into audit_events (tenant_id, id, at, actor_id, actor_role, support_grant_id, action, subject_type,
    subject_id, subject_ids, store_id, request_id, ip, user_agent, outcome, reason, changed_fields)
  select e."tenantId", e.id, e.at, e."actorId", e."actorRole", e."supportGrantId", e.action, e."subjectType",
    e."subjectId", e."subjectIds", e."storeId", e."requestId", e.ip, e."userAgent", e.outcome, e.reason,
    e."changedFields"
  from jsonb_to_recordset($1::jsonb) as e("tenantId" uuid, id uuid, at timestamptz, "actorId" uuid,
    "actorRole" text, "supportGrantId" uuid, action text, "subjectType" text, "subjectId" text,
    "subjectIds" text[], "storeId" uuid, "requestId" text, ip text, "userAgent" text, outcome text,
    reason text, "changedFields" text[])`;
