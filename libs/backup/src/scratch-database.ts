import { randomBytes } from 'node:crypto';
import { withClient } from '@forecourt/database';

/** A throw-away database a backup is restored into to be checked. */
export interface ScratchDatabase {
  /** Connects as the role that owns it (the one a restore needs). */
  url: string;
  drop(): Promise<void>;
}

/**
 * Makes scratch databases through `adminUrl` — a role that may create databases — each owned by
 * `owner` (a role and a URL of it) or, without one, by the admin role itself. A scratch database
 * is named after the backup it checks (`forecourt_verify_<backup id, hex>_<random>`), so one left
 * behind by a crash says whose it was.
 */
export function scratchDatabases(
  adminUrl: string,
  owner?: { role: string; url: string },
): (backupId: string) => Promise<ScratchDatabase> {
  return async (backupId) => {
    const name = `${scratchDatabasePrefix(backupId)}${randomBytes(6).toString('hex')}`;
    await withClient({ connectionString: adminUrl }, (admin) =>
      admin.query(`create database ${name}${owner ? ` owner "${owner.role.replace(/"/g, '""')}"` : ''}`),
    );
    const url = new URL(owner?.url ?? adminUrl);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      drop: async () => {
        await withClient({ connectionString: adminUrl }, (admin) =>
          admin.query(`drop database if exists ${name} with (force)`),
        );
      },
    };
  };
}

/** How the scratch databases that check backup `backupId` are named, up to their random part. */
export function scratchDatabasePrefix(backupId: string): string {
  const hex = backupId.toLowerCase().replace(/[^0-9a-f]/g, '');
  return `forecourt_verify_${hex}_`;
}
