import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit trail: one append-only, hash-chained log per tenant, plus the platform's own chain
 * (tenant id `00000000-0000-0000-0000-000000000000`) for what happens outside any tenant.
 *
 * - Writers only INSERT; `seq`, `prev_hash` and `hash` stay NULL until the sealer numbers and
 *   chains the event. The one UPDATE the trigger lets through is that seal: from unsealed to
 *   sealed, every other column unchanged. DELETE and TRUNCATE are refused for everyone.
 * - RLS as on every tenant table; a transaction that acts for no tenant writes the platform chain.
 * - Signed checkpoints of each chain's head (`audit_checkpoints`, append-only as well); the signing
 *   key's private half is wrapped in `key_material`, its public half beside it.
 * - The sign-in events and membership changes kept so far move into the trail.
 */
export class AuditTrail1795480000000 implements MigrationInterface {
  name = 'AuditTrail1795480000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      create table audit_events (
        tenant_id uuid not null,
        id uuid not null,
        seq bigint,
        at timestamptz not null,
        actor_id uuid,
        actor_role text not null,
        support_grant_id uuid,
        action text not null check (action ~ '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$'),
        subject_type text not null,
        subject_id text,
        subject_ids text[],
        store_id uuid,
        request_id text,
        ip text,
        user_agent text,
        outcome text not null check (outcome in ('allowed', 'denied')),
        reason text,
        changed_fields text[],
        prev_hash bytea,
        hash bytea,
        primary key (tenant_id, id),
        constraint audit_events_sealed check (
          (seq is null and prev_hash is null and hash is null)
          or (seq > 0 and length(prev_hash) = 32 and length(hash) = 32))
      )`);
    // What the sealer reads: the unsealed events of a chain, in the order it seals them.
    await db.query(
      `create index audit_events_unsealed on audit_events (tenant_id, at, id) where seq is null`,
    );
    // The filters of the list endpoint, each leading with tenant_id and ending with seq (newest first).
    // Readers only ever see sealed events, so these index only those: an append then touches two
    // indexes (the key and the unsealed one), and the seal adds the rest once.
    await db.query(
      `create unique index audit_events_seq_key on audit_events (tenant_id, seq) where seq is not null`,
    );
    for (const [name, columns] of [
      ['by_actor', 'tenant_id, actor_id, seq'],
      ['by_subject', 'tenant_id, subject_id, seq'],
      ['by_action', 'tenant_id, action, seq'],
      ['by_request', 'tenant_id, request_id'],
    ]) {
      await db.query(`create index audit_events_${name} on audit_events (${columns}) where seq is not null`);
    }
    await db.query(
      `create index audit_events_by_subjects on audit_events using gin (subject_ids) where seq is not null and subject_ids is not null`,
    );

    // The sealed head of each chain: where the next seal continues, and what verify expects to find.
    await db.query(`
      create table audit_heads (
        tenant_id uuid not null primary key,
        seq bigint not null check (seq > 0),
        hash bytea not null check (length(hash) = 32),
        sealed_at timestamptz not null default now()
      )`);
    await db.query(`
      create table audit_checkpoints (
        tenant_id uuid not null,
        id uuid not null,
        seq bigint not null check (seq > 0),
        hash bytea not null check (length(hash) = 32),
        signed_at timestamptz not null,
        key_id text not null,
        note text not null,
        primary key (tenant_id, id),
        constraint audit_checkpoints_seq_key unique (tenant_id, seq, key_id)
      )`);

    await db.query(`alter table key_material drop constraint key_material_purpose_check`);
    await db.query(`
      alter table key_material
        add constraint key_material_purpose_check
          check (purpose in ('session-signing', 'user-secrets', 'audit-signing')),
        add column public_key bytea`);

    for (const table of ['audit_events', 'audit_heads', 'audit_checkpoints']) {
      await db.query(`alter table ${table} enable row level security`);
      await db.query(`alter table ${table} force row level security`);
      for (const kind of ['permissive', 'restrictive']) {
        // A transaction acting for no tenant (sign-in, platform work) writes the platform chain.
        await db.query(`
          create policy tenant_${kind === 'permissive' ? 'access' : 'isolation'} on ${table} as ${kind}
            for all to forecourt_runtime
            using (tenant_id = (select app.current_tenant_id()))
            with check (tenant_id = coalesce((select app.current_tenant_id()),
                                             '00000000-0000-0000-0000-000000000000'::uuid))`);
      }
    }

    // Append-only: only the seal (NULL → numbered, nothing else changed) passes; the runtime role
    // holds no DELETE or TRUNCATE grant either, and the owner meets the same trigger.
    await db.query(`
      create function app.audit_append_only() returns trigger
        language plpgsql
        set search_path = pg_catalog, pg_temp
        as $$
        begin
          if tg_op = 'UPDATE' then
            if tg_table_name = 'audit_events' and old.seq is null and new.seq is not null
               and (to_jsonb(old) - '{seq,prev_hash,hash}'::text[]) = (to_jsonb(new) - '{seq,prev_hash,hash}'::text[]) then
              return new;
            end if;
            if tg_table_name = 'audit_heads' and new.tenant_id = old.tenant_id and new.seq > old.seq then
              return new;
            end if;
          end if;
          raise exception '% is append-only: % refused', tg_table_name, tg_op
            using errcode = 'insufficient_privilege';
        end
        $$`);
    for (const table of ['audit_events', 'audit_heads', 'audit_checkpoints']) {
      await db.query(`
        create trigger ${table}_append_only before update or delete on ${table}
          for each row execute function app.audit_append_only()`);
      await db.query(`
        create trigger ${table}_no_truncate before truncate on ${table}
          for each statement execute function app.audit_append_only()`);
    }

    // The sealer and the checkpointer find the chains that need them without reading any event.
    await db.query(
      `create policy audit_chain_lookup on audit_events as permissive for select to current_user using (true)`,
    );
    await db.query(
      `create policy audit_chain_lookup on audit_heads as permissive for select to current_user using (true)`,
    );
    await db.query(
      `create policy audit_chain_lookup on audit_checkpoints as permissive for select to current_user using (true)`,
    );
    await db.query(`
      create function app.audit_unsealed_chains() returns setof uuid
        language sql stable security definer
        set search_path = pg_catalog, pg_temp
        as $$ select distinct tenant_id from public.audit_events where seq is null $$`);
    await db.query(`
      create function app.audit_chains() returns setof uuid
        language sql stable security definer
        set search_path = pg_catalog, pg_temp
        as $$ select tenant_id from public.audit_heads order by tenant_id $$`);
    await db.query(`
      create function app.audit_unchecked_chains() returns setof uuid
        language sql stable security definer
        set search_path = pg_catalog, pg_temp
        as $$
          select h.tenant_id from public.audit_heads h
          where h.seq > coalesce((select max(c.seq) from public.audit_checkpoints c
                                  where c.tenant_id = h.tenant_id), 0)
        $$`);

    // Events about a person (signing in, MFA) go to the chain of every tenant they are an active
    // member of, with their role there, and to the platform chain when they have a platform role,
    // no membership, or are unknown. Inserts only, one event id shared by the copies.
    await db.query(
      `create policy audit_person_events on audit_events as permissive for insert to current_user with check (true)`,
    );
    await db.query(`
      create function app.append_person_audit_event(p_user_id uuid, p_event jsonb) returns integer
        language sql volatile security definer
        set search_path = pg_catalog, pg_temp
        as $$
          with tenant_chains as (
            select m.tenant_id as chain, m.role from public.memberships m
              join public.tenants t on t.id = m.tenant_id
            where m.user_id = p_user_id and m.status = 'active' and t.status <> 'deleted'
          ), chains as (
            select chain, role from tenant_chains
            union all
            select '00000000-0000-0000-0000-000000000000'::uuid,
                   coalesce((select u.platform_role from public.users u where u.id = p_user_id),
                            case when p_user_id is null then 'anonymous' else 'user' end)
            where p_user_id is null
               or exists (select 1 from public.users u where u.id = p_user_id and u.platform_role is not null)
               or not exists (select 1 from tenant_chains)
          ), inserted as (
            insert into public.audit_events (tenant_id, id, at, actor_id, actor_role, action, subject_type,
              subject_id, request_id, ip, user_agent, outcome, reason)
            select c.chain, (p_event->>'id')::uuid, (p_event->>'at')::timestamptz, p_user_id, c.role,
              p_event->>'action', p_event->>'subjectType', p_event->>'subjectId', p_event->>'requestId',
              p_event->>'ip', p_event->>'userAgent', p_event->>'outcome', p_event->>'reason'
            from chains c
            returning 1
          )
          select count(*)::integer from inserted
        $$`);
    for (const fn of [
      'audit_unsealed_chains()',
      'audit_chains()',
      'audit_unchecked_chains()',
      'append_person_audit_event(uuid, jsonb)',
    ]) {
      await db.query(`revoke all on function app.${fn} from public`);
      await db.query(`grant execute on function app.${fn} to forecourt_runtime`);
    }

    // What was recorded so far joins the trail, unsealed: the sealer chains it like any new event.
    await db.query(`
      insert into audit_events (tenant_id, id, at, actor_id, actor_role, action, subject_type, subject_id,
        request_id, ip, user_agent, outcome, reason)
      select '00000000-0000-0000-0000-000000000000', e.id, date_trunc('milliseconds', e.at), e.user_id,
        case when e.user_id is null then 'anonymous' else 'user' end,
        case when e.event in ('auth.login', 'auth.mfa.enroll', 'auth.mfa.verify')
             then e.event || case e.outcome when 'succeeded' then '.succeeded' else '.failed' end
             else e.event end,
        'User', e.user_id::text, e.request_id, host(e.ip), e.user_agent,
        case e.outcome when 'succeeded' then 'allowed' else 'denied' end, e.reason
      from auth_events e`);
    await db.query(`
      insert into audit_events (tenant_id, id, at, actor_id, actor_role, action, subject_type, subject_id,
        outcome, changed_fields)
      select e.tenant_id, e.id, date_trunc('milliseconds', e.at), e.actor_id,
        case when e.actor_id is null then 'system' else 'user' end,
        case e.action when 'membership.created' then 'membership.create' when 'membership.updated' then 'membership.update'
                      when 'membership.removed' then 'membership.delete' when 'sessions.revoked' then 'session.revoke'
                      else e.action end,
        case when e.action = 'sessions.revoked' then 'User' else 'Membership' end, e.user_id::text,
        'allowed', (select array_agg(k order by k) from jsonb_object_keys(coalesce(e.changes->'to', '{}')) k)
      from membership_events e`);
    await db.query(`drop table auth_events, membership_events`);

    // Events go in unsealed: only the sealer's UPDATE ever sets seq, prev_hash and hash.
    await db.query(`
      grant insert (tenant_id, id, at, actor_id, actor_role, support_grant_id, action, subject_type, subject_id,
        subject_ids, store_id, request_id, ip, user_agent, outcome, reason, changed_fields)
      on audit_events to forecourt_runtime`);
    await db.query(`grant select on audit_events to forecourt_runtime`);
    await db.query(`grant select, insert on audit_checkpoints to forecourt_runtime`);
    await db.query(`grant update (seq, prev_hash, hash) on audit_events to forecourt_runtime`);
    await db.query(`grant select, insert, update (seq, hash, sealed_at) on audit_heads to forecourt_runtime`);
  }

  // Rolling back would drop every tenant's history: restore a backup taken before instead.
  down(): Promise<void> {
    return Promise.reject(new Error('the audit trail migration is not reversible'));
  }
}
