import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Client } from 'pg';
import { withClient } from '@forecourt/database';
import type { ObjectDriver } from '@forecourt/storage';

/** Where a backup's copy lives in the off-site bucket. */
const keyOf = (id: string) => `backups/${id}.fcb`;

/**
 * The off-site copies of backups: the same sealed file, uploaded (multipart, streamed) to a
 * bucket of their own with credentials of their own (`BACKUP_S3_*`), so neither the API's media
 * credentials nor a mistake in the media bucket can reach them.
 */
export class OffsiteBackups {
  constructor(
    private readonly ownerUrl: string,
    private readonly driver: ObjectDriver & { close?(): void },
  ) {}

  /** Ends the bucket client's connections (the process may then exit). */
  close(): void {
    this.driver.close?.();
  }

  /** Uploads the local file of backup `id`; records `uploaded`, or `failed` with the reason. */
  async upload(id: string, file: string): Promise<{ status: 'uploaded' | 'failed'; detail: string | null }> {
    try {
      await this.driver.write(keyOf(id), createReadStream(file));
    } catch (error) {
      const detail = (error as Error).message.slice(0, 2000);
      await this.asOwner((client) =>
        client.query(
          `update backups set offsite_status = 'failed', offsite_at = now(), offsite_error = $2 where id = $1`,
          [id, detail],
        ),
      );
      return { status: 'failed', detail };
    }
    await this.asOwner((client) =>
      client.query(
        `update backups set offsite_status = 'uploaded', offsite_at = now(), offsite_key = $2, offsite_error = null
          where id = $1`,
        [id, keyOf(id)],
      ),
    );
    return { status: 'uploaded', detail: null };
  }

  /** The off-site copy of backup `id`, or null when there is none. */
  async open(id: string): Promise<Readable | null> {
    const key = await this.asOwner(async (client) => {
      const { rows } = await client.query<{ key: string | null }>(
        'select offsite_key as key from backups where id = $1',
        [id],
      );
      return rows[0]?.key ?? null;
    });
    return key ? this.driver.read(key) : null;
  }

  /**
   * Off-site retention: removes copies older than `keepMs` at `now`, except the newest one whose
   * backup passed its restore test and the newest one uploaded, whatever their age. Returns the
   * ids whose copy went; a record with no copy left goes too.
   */
  async prune(now: Date, keepMs: number): Promise<string[]> {
    const expired = await this.asOwner(async (client) => {
      const { rows } = await client.query<{ id: string; key: string }>(
        `select id, offsite_key as key from backups
          where offsite_key is not null and created_at < $1::timestamptz - make_interval(secs => $2)
            and id is distinct from (select id from backups where offsite_key is not null
                                     order by created_at desc limit 1)
            and id is distinct from (select id from backups where offsite_key is not null and verify_status = 'passed'
                                     order by created_at desc limit 1)`,
        [now, keepMs / 1000],
      );
      return rows;
    });
    for (const { id, key } of expired) {
      await this.driver.delete(key);
      await this.asOwner(async (client) => {
        await client.query('update backups set offsite_key = null where id = $1', [id]);
        await client.query(
          'delete from backups where id = $1 and local_path is null and offsite_key is null',
          [id],
        );
      });
    }
    return expired.map((row) => row.id);
  }

  private asOwner<T>(work: (client: Client) => Promise<T>): Promise<T> {
    return withClient({ connectionString: this.ownerUrl }, work);
  }
}
