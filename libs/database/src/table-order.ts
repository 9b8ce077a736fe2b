import type { QueryResult, QueryResultRow } from 'pg';

/** Anything that runs a statement: a pg client, or a tenant transaction's `TenantWork`. */
export interface Queryable {
  query<R extends QueryResultRow>(sql: string): Promise<QueryResult<R>>;
}

/**
 * The tables of the public schema in foreign-key order (a table after every table it
 * references): loaded in this order every constraint holds at each row; deleted in the reverse
 * order no foreign key stands in the way.
 */
export async function tablesInForeignKeyOrder(client: Queryable): Promise<string[]> {
  const { rows } = await client.query<{ name: string; references: string[] }>(`
    select c.relname as name,
      array(select distinct r.relname from pg_constraint k join pg_class r on r.oid = k.confrelid
             where k.conrelid = c.oid and k.contype = 'f' and k.confrelid <> c.oid)::text[] as references
    from pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
    order by c.relname`);
  const pending = new Map(rows.map((row) => [row.name, row.references]));
  const ordered: string[] = [];
  while (pending.size > 0) {
    const ready = [...pending].filter(([, references]) => references.every((name) => !pending.has(name)));
    if (ready.length === 0)
      throw new Error(`foreign keys form a cycle among ${[...pending.keys()].join(', ')}`);
    for (const [name] of ready) {
      ordered.push(name);
      pending.delete(name);
    }
  }
  return ordered;
}

/** The tables of the public schema that hold tenants' rows: those with a `tenant_id` column. */
export async function tablesWithTenantId(client: Queryable): Promise<Set<string>> {
  const { rows } = await client.query<{ name: string }>(
    `select c.relname as name from pg_class c join pg_attribute a on a.attrelid = c.oid
      where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
        and a.attname = 'tenant_id' and not a.attisdropped`,
  );
  return new Set(rows.map((row) => row.name));
}
