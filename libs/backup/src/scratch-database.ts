import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

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
    const admin = new Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      await admin.query(
        `create database ${name}${owner ? ` owner "${owner.role.replace(/"/g, '""')}"` : ''}`,
      );
    } finally {
      await admin.end();
    }
    const url = new URL(owner?.url ?? adminUrl);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      drop: async () => {
        const dropper = new Client({ connectionString: adminUrl });
        await dropper.connect();
        try {
          await dropper.query(`drop database if exists ${name} with (force)`);
        } finally {
          await dropper.end();
        }
      },
    };
  };
}
