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
 * `owner` (a role and a URL of it) or, without one, by the admin role itself.
 */
export function scratchDatabases(
  adminUrl: string,
  owner?: { role: string; url: string },
): () => Promise<ScratchDatabase> {
  return async () => {
    const name = `forecourt_verify_${randomBytes(6).toString('hex')}`;
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
