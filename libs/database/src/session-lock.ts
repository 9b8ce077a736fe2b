import type { DataSource } from 'typeorm';

/** An advisory lock's key: one number, or a number and a text (hashed, e.g. a tenant id). */
export type AdvisoryLockKey = readonly [number] | readonly [number, string];

/**
 * Runs `work` holding a session advisory lock on a pooled connection of its own, for as long as
 * `work` runs; `{ held: false }` at once when another session holds the lock (never waits). The
 * lock is released before the connection goes back to the pool.
 */
export async function underSessionLock<T>(
  dataSource: DataSource,
  key: AdvisoryLockKey,
  work: () => Promise<T>,
): Promise<{ held: true; value: T } | { held: false }> {
  const args = key.length === 1 ? '$1' : '$1, hashtext($2)';
  const connection = dataSource.createQueryRunner();
  await connection.connect();
  try {
    const [{ held }] = (await connection.query(`select pg_try_advisory_lock(${args}) as held`, [...key])) as [
      { held: boolean },
    ];
    if (!held) return { held: false };
    try {
      return { held: true, value: await work() };
    } finally {
      await connection.query(`select pg_advisory_unlock(${args})`, [...key]);
    }
  } finally {
    await connection.release();
  }
}
