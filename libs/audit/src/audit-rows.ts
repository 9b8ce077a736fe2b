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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_MILLIS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * Whether `event` reads back from the table exactly as written, so a hash computed before the
 * insert is the hash of what is stored: PostgreSQL writes uuids in lower case and timestamps in
 * its own form, so an upper-case id would read back different from what was hashed.
 */
export function storedAsWritten(event: AuditEvent): boolean {
  const ids = [event.tenantId, event.id, event.actorId, event.supportGrantId, event.storeId];
  return ISO_MILLIS.test(event.at) && ids.every((id) => id === null || UUID.test(id));
}

const INSERTED_COLUMNS = `tenant_id, id, at, actor_id, actor_role, support_grant_id, action, subject_type,
    subject_id, subject_ids, store_id, request_id, ip, user_agent, outcome, reason, changed_fields`;
const EVENT_FIELDS = `e."tenantId", e.id, e.at, e."actorId", e."actorRole", e."supportGrantId", e.action,
    e."subjectType", e."subjectId", e."subjectIds", e."storeId", e."requestId", e.ip, e."userAgent", e.outcome,
    e.reason, e."changedFields"`;
const EVENT_RECORD = `"tenantId" uuid, id uuid, at timestamptz, "actorId" uuid,
    "actorRole" text, "supportGrantId" uuid, action text, "subjectType" text, "subjectId" text,
    "subjectIds" text[], "storeId" uuid, "requestId" text, ip text, "userAgent" text, outcome text,
    reason text, "changedFields" text[]`;

/** Inserts events (a JSON array of {@link AuditEvent}) in one statement, unsealed. */
export const INSERT_EVENTS = `
  insert into audit_events (${INSERTED_COLUMNS})
  select ${EVENT_FIELDS}
  from jsonb_to_recordset($1::jsonb) as e(${EVENT_RECORD})`;

/**
 * The group commit's insert of one chain's events (`$4`: a JSON array of {@link SealedAuditEvent}s
 * sealed after the head `$3` (seq) / `$5` (hash), or of plain events when `$3` is -1). They go in
 * sealed when the chain's seal lock (`$1`, `$2`: the chain) is free and the head is still where
 * they continue from: the same statement moves the head to their last (`$6`, `$7`), so no
 * other sealer can number the same places. Otherwise they go in unsealed, for the sealer. Answers
 * whether they were sealed, and the head it found when they were not (the next guess).
 */
export const INSERT_FLUSHED_EVENTS = `
  with seal as (
    -- CASE, not AND: the lock is tried only for sealed events, so a plain batch never holds it.
    -- Tried, not waited for: a batch meeting another batch of the chain as it commits, or a
    -- sealer, goes in unsealed rather than queue behind it (waiting measured far worse at p99).
    select case when $3::bigint >= 0 then pg_try_advisory_xact_lock($1, hashtext($2::uuid::text))
                else false end as locked
  ), moved as (
    update audit_heads h set seq = $6::bigint, hash = decode($7, 'hex'), sealed_at = now()
      from seal s
     where s.locked and h.tenant_id = $2::uuid and h.seq = $3::bigint and h.hash = decode($5, 'hex')
    returning 1
  ), created as (
    insert into audit_heads (tenant_id, seq, hash)
    select $2::uuid, $6::bigint, decode($7, 'hex') from seal s where s.locked and $3::bigint = 0
    on conflict (tenant_id) do nothing
    returning 1
  ), sealed as (
    select exists (select from moved) or exists (select from created) as sealed
  ), inserted as (
    insert into audit_events (${INSERTED_COLUMNS}, seq, prev_hash, hash)
    select ${EVENT_FIELDS},
      case when s.sealed then e.seq end, case when s.sealed then decode(e."prevHash", 'hex') end,
      case when s.sealed then decode(e.hash, 'hex') end
    from sealed s, jsonb_to_recordset($4::jsonb) as e(${EVENT_RECORD}, seq bigint, "prevHash" text, hash text)
    returning 1
  )
  select (select sealed from sealed) as sealed, (select count(*) from inserted)::int as inserted,
    h.seq as "headSeq", encode(h.hash, 'hex') as "headHash"
  from (select 1) as one left join audit_heads h on h.tenant_id = $2::uuid`;
