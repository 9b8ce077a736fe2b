import { Client } from 'pg';
import type { TestDatabase } from './test-cluster';

/**
 * Per table of `db` (those of `tables` that exist): `<row count>:<md5 of every row as text, in
 * order>`, read as the superuser. Two databases with equal contents hold the same rows.
 */
export async function tableContents(
  db: TestDatabase,
  tables: readonly string[],
): Promise<Record<string, string>> {
  const admin = new Client({ connectionString: db.adminUrl });
  await admin.connect();
  try {
    const existing = new Set(
      (
        await admin.query<{ name: string }>(
          `select relname as name from pg_class where relnamespace = 'public'::regnamespace and relkind = 'r'`,
        )
      ).rows.map((row) => row.name),
    );
    const contents: Record<string, string> = {};
    for (const table of tables.filter((name) => existing.has(name))) {
      const { rows } = await admin.query<{ n: string; digest: string | null }>(
        `select count(*) as n, md5(string_agg(t::text, E'\\n' order by t::text)) as digest from "${table}" t`,
      );
      contents[table] = `${rows[0]!.n}:${rows[0]!.digest ?? ''}`;
    }
    return contents;
  } finally {
    await admin.end();
  }
}

/**
 * {@link tableContents} of every table but `backups`, as a restore of a backup of `db` must hold
 * them: the source records the run's end in `backups` after the snapshot was taken, so the copy
 * holds that row as it was then (running).
 */
export async function restorableContents(
  db: TestDatabase,
  tables: readonly string[],
): Promise<Record<string, string>> {
  return tableContents(
    db,
    tables.filter((table) => table !== 'backups'),
  );
}
