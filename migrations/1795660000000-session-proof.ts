import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `app.prove_session`: the session check as a function that raises instead of returning no row,
 * so that a read whose caller the API already knows can carry the check in the statement that
 * sets its tenant context — one round trip instead of two — and abort before any row comes back
 * when the session has ended (SQLSTATE FC401) or the person's permissions changed since the API
 * cached them (FC409). The conditions are those of `Sessions.authenticate`; the idle clock moves
 * as it does there, at most once a minute.
 *
 * It runs as the owner (the context is not set yet when it runs), which reads sessions and users
 * through `backup_read` and may move `last_seen_at` through `session_proof`, nothing else.
 */
export class SessionProof1795660000000 implements MigrationInterface {
  name = 'SessionProof1795660000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(
      `create policy session_proof on sessions as permissive for update to current_user using (true) with check (true)`,
    );
    await db.query(`
      create function app.prove_session(
        p_session uuid, p_user uuid, p_token_hash bytea, p_idle_minutes integer, p_permissions_version bigint
      ) returns boolean
        language plpgsql volatile security definer
        set search_path = pg_catalog, pg_temp
        as $$
        declare
          seen timestamptz;
          version bigint;
        begin
          select s.last_seen_at, u.permissions_version into seen, version
            from public.sessions s join public.users u on u.id = s.user_id
           where s.id = p_session and s.user_id = p_user and s.token_hash = p_token_hash
             and s.revoked_at is null and s.expires_at > now()
             and s.last_seen_at > now() - make_interval(mins => p_idle_minutes)
             and u.status = 'active';
          if not found then
            raise exception 'the session has ended' using errcode = 'FC401';
          end if;
          if version <> p_permissions_version then
            raise exception 'the permissions of the session changed' using errcode = 'FC409';
          end if;
          if seen < now() - interval '1 minute' then
            update public.sessions set last_seen_at = now() where id = p_session;
          end if;
          return true;
        end
        $$`);
    const signature = 'app.prove_session(uuid, uuid, bytea, integer, bigint)';
    await db.query(`revoke all on function ${signature} from public`);
    await db.query(`grant execute on function ${signature} to forecourt_runtime`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`drop function app.prove_session(uuid, uuid, bytea, integer, bigint)`);
    await db.query(`drop policy session_proof on sessions`);
  }
}
