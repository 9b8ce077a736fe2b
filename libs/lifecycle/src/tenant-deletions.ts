import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { appendToChains, AuditSigningKey } from '@forecourt/audit';
import { APP_CONFIG, type AppConfig } from '@forecourt/config';
import { Clock, type RequestContext } from '@forecourt/core';
import { TenantKeys } from '@forecourt/crypto';
import {
  tablesInForeignKeyOrder,
  tablesWithTenantId,
  TenantTransaction,
  underSessionLock,
} from '@forecourt/database';
import { Mailer } from '@forecourt/mail';
import { ObjectStore } from '@forecourt/storage';
import { certificateBytes, type DeletionCertificate } from './deletion-certificate';
import { LifecycleError, LifecycleErrorCode } from './lifecycle-error';

/** Rows per shredding statement: short transactions, however large the tenant. */
const SHRED_BATCH = 5_000;
/** Passes over the tables until one finds nothing left (events still in flight land late). */
const MAX_PASSES = 5;
/** Destroyed last: until then the tenant's sealed data could still be read by the deletion. */
const KEYS_TABLE = 'tenant_keys';
export const SCHEDULED_REASON = 'grace ended';
/** First key of the per-tenant advisory lock a deletion run holds (the second: the tenant's hash). */
const DELETION_LOCK = 0x4643_444c; // "FCDL"

export interface DeletionRequest {
  reason: string;
  /** The platform owner asking; null for the schedule. */
  requestedBy: string | null;
  dueAt: Date | null;
}

export interface TenantDeletionRecord {
  tenantId: string;
  state: 'running' | 'completed';
  reason: string;
  startedAt: Date;
  completedAt: Date | null;
  rowCounts: Record<string, number> | null;
  objectsDeleted: number;
  certificate: DeletionCertificate | null;
  signature: string | null;
}

interface DeletionRow {
  tenant: string;
  state: 'running' | 'completed';
  reason: string;
  requested_by: string | null;
  due_at: Date | null;
  started_at: Date;
  completed_at: Date | null;
  row_counts: Record<string, number> | null;
  objects_deleted: number;
  people_removed: number;
  recipients: string[] | null;
  people: string[] | null;
  certificate: DeletionCertificate | null;
  signature: string | null;
}

/**
 * A tenant's permanent deletion, in steps that each leave a record, so a run cut short is taken
 * up again where it stopped:
 *
 * 1. **begin** (one transaction): the tenant is marked `deleted` — from then on nobody reaches it —
 *    and `tenant_deletions` records why, the rows each tenant table holds (the certificate's
 *    counts), its admins' addresses and its people;
 * 2. **rows**: every tenant table (found from the catalog), children before parents, in batches,
 *    through `app.shred_tenant_rows`;
 * 3. **objects**: everything under the tenant's storage prefix;
 * 4. **keys**: finally the data keys (crypto-shredding: what they sealed stays sealed), and this
 *    process forgets them;
 * 5. **people** who belonged to no other tenant;
 * 6. **certificate**: checked that nothing is left, signed, mailed to the admins, kept.
 */
@Injectable()
export class TenantDeletions {
  constructor(
    private readonly transactions: TenantTransaction,
    // The platform's own records (tenant_deletions, its audit chain): no tenant, often no person.
    private readonly platform: DataSource,
    private readonly signingKey: AuditSigningKey,
    private readonly objects: ObjectStore,
    private readonly keys: TenantKeys,
    private readonly mailer: Mailer,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** A platform owner's deletion now (e.g. a verified deletion request), whatever the lifecycle. */
  async deleteNow(
    ctx: RequestContext,
    tenantId: string,
    reason: string,
    confirm: string,
  ): Promise<TenantDeletionRecord> {
    if (confirm !== tenantId) {
      throw new LifecycleError(
        LifecycleErrorCode.ConfirmationMismatch,
        'confirm: must repeat the id of the tenant to delete',
      );
    }
    const requestedBy = ctx.principal?.userId ?? null;
    const begun = await this.begin(tenantId, { reason, requestedBy, dueAt: null }, ctx);
    if (!begun) throw new LifecycleError(LifecycleErrorCode.NoTenant, 'No such tenant');
    return this.finish(tenantId);
  }

  /**
   * Starts the deletion of a tenant (or finds it started). Returns false for a tenant that does
   * not exist, or (for the schedule, `requestedBy: null`) is no longer due.
   */
  async begin(
    tenantId: string,
    request: DeletionRequest,
    ctx: RequestContext | null = null,
  ): Promise<boolean> {
    const started = await this.transactions.run({ tenantId, stores: 'all' }, async (tx) => {
      const { rows } = await tx.query<{ status: string; delete_after: Date | null }>(
        'select status, delete_after from tenants where id = $1 for update',
        [tenantId],
      );
      const tenant = rows[0];
      if (!tenant) return null;
      if (tenant.status === 'deleted') return 'already';
      // The schedule deletes only what is still due under the lock (a restore may have come first).
      const due =
        (tenant.status === 'cancelled' || tenant.status === 'grace') &&
        tenant.delete_after !== null &&
        tenant.delete_after <= this.clock.now();
      if (request.requestedBy === null && !due) return 'not_due';
      const recipients = await tx.query<{ email: string }>(
        `select u.email from memberships m join users u on u.id = m.user_id
          where m.tenant_id = $1 and m.role = 'dealer_admin' and m.status = 'active' order by u.email`,
        [tenantId],
      );
      const people = await tx.query<{ user_id: string }>(
        'select distinct user_id from memberships where tenant_id = $1',
        [tenantId],
      );
      await tx.query(`update tenants set status = 'deleted', updated_at = now() where id = $1`, [tenantId]);
      const counts = await tx.query<{ table_name: string; row_count: string }>(
        'select table_name, row_count from app.tenant_row_counts($1)',
        [tenantId],
      );
      const rowCounts = Object.fromEntries(counts.rows.map((row) => [row.table_name, Number(row.row_count)]));
      await tx.query(
        `insert into tenant_deletions (tenant, reason, requested_by, due_at, started_at, row_counts, recipients, people)
         values ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [
          tenantId,
          request.reason,
          request.requestedBy,
          request.dueAt,
          this.clock.now(),
          JSON.stringify(rowCounts),
          // The name goes into the farewell mail only; the record drops it with the addresses.
          recipients.rows.map((row) => row.email),
          people.rows.map((row) => row.user_id),
        ],
      );
      return 'begun';
    });
    if (started === null || started === 'not_due') return false;
    if (started === 'begun') {
      await this.platformEvent(ctx, tenantId, 'tenant.deletion_started');
    }
    return true;
  }

  /**
   * Carries a begun deletion through to its certificate; safe to run again at any point. One run
   * per tenant at a time (a session advisory lock): another answers 409 while it holds it.
   */
  async finish(tenantId: string): Promise<TenantDeletionRecord> {
    const run = await underSessionLock(this.platform, [DELETION_LOCK, tenantId], () =>
      this.finishLocked(tenantId),
    );
    if (!run.held) {
      throw new LifecycleError(LifecycleErrorCode.DeletionRunning, 'That tenant is being deleted right now');
    }
    return run.value;
  }

  private async finishLocked(tenantId: string): Promise<TenantDeletionRecord> {
    const record = await this.row(tenantId);
    if (!record) throw new LifecycleError(LifecycleErrorCode.NoDeletion, 'No deletion of that tenant');
    if (record.state === 'completed') return recordOf(record);

    const tables = await this.tablesInDeletionOrder(tenantId);
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      let deleted = 0;
      for (const table of tables) deleted += await this.shredTable(tenantId, table);
      if (deleted === 0) break;
    }
    await this.objects.deleteTenantObjects(tenantId, async (count) => {
      await this.platform.query(
        'update tenant_deletions set objects_deleted = objects_deleted + $2 where tenant = $1',
        [tenantId, count],
      );
    });
    await this.shredTable(tenantId, KEYS_TABLE);
    this.keys.forget(tenantId);
    // Counted in the same transaction as the removal, so a run cut short after it keeps the count.
    await this.transactions.run({ tenantId, stores: 'all' }, async (tx) => {
      await tx.query(
        `update tenant_deletions set people_removed = people_removed + app.shred_tenant_people($1, people), people = '{}'
          where tenant = $1`,
        [tenantId],
      );
    });
    return this.certify(tenantId);
  }

  /** Tenants whose grace is over, and deletions cut short: what the daily run takes on. */
  async due(): Promise<{ tenantId: string; dueAt: Date | null }[]> {
    const rows = await this.platform.query<{ tenant_id: string; due_at: Date | null }[]>(
      `select id as tenant_id, delete_after as due_at from app.lifecycle_due($1) where delete_after <= $1
       union
       select tenant, due_at from tenant_deletions where state = 'running'`,
      [this.clock.now()],
    );
    return rows.map((row) => ({ tenantId: row.tenant_id, dueAt: row.due_at }));
  }

  async record(tenantId: string): Promise<TenantDeletionRecord> {
    const row = await this.row(tenantId);
    if (!row) throw new LifecycleError(LifecycleErrorCode.NoDeletion, 'No deletion of that tenant');
    return recordOf(row);
  }

  private async shredTable(tenantId: string, table: string): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await this.transactions.run({ tenantId, stores: 'all' }, async (tx) => {
        const { rows } = await tx.query<{ deleted: string }>(
          'select app.shred_tenant_rows($1, $2, $3) as deleted',
          [tenantId, table, SHRED_BATCH],
        );
        return Number(rows[0]!.deleted);
      });
      total += deleted;
      if (deleted < SHRED_BATCH) return total;
    }
  }

  /**
   * Every tenant table but the data keys (those go last, after the objects), each after every
   * table that refers to it (the reverse of the foreign-key load order), so no key stands in the way.
   */
  private async tablesInDeletionOrder(tenantId: string): Promise<string[]> {
    return this.transactions.run({ tenantId, stores: 'all' }, async (tx) => {
      // The catalog names the tables (counting their rows again would read every one of them).
      const tenantTables = await tablesWithTenantId(tx);
      return (await tablesInForeignKeyOrder(tx))
        .reverse()
        .filter((table) => tenantTables.has(table) && table !== KEYS_TABLE);
    });
  }

  /** Checks that nothing is left, then signs, mails and keeps the certificate. */
  private async certify(tenantId: string): Promise<TenantDeletionRecord> {
    const record = (await this.row(tenantId))!;
    const remainingRows = await this.transactions.run({ tenantId, stores: 'all' }, async (tx) => {
      const { rows } = await tx.query<{ left: string }>(
        'select coalesce(sum(row_count), 0) as left from app.tenant_row_counts($1)',
        [tenantId],
      );
      return Number(rows[0]!.left);
    });
    const remainingObjects = await this.objects.countOfTenant(tenantId);
    if (remainingRows > 0 || remainingObjects > 0) {
      throw new Error(
        `tenant deletion incomplete: ${remainingRows} rows and ${remainingObjects} objects left; it is retried`,
      );
    }
    const rows = record.row_counts ?? {};
    const keyId = this.signingKey.keyId;
    const completedAt = this.clock.now();
    const certificate: DeletionCertificate = {
      format: 'forecourt-deletion-certificate/1',
      tenantId,
      reason: record.reason,
      requestedBy: record.requested_by,
      dueAt: record.due_at?.toISOString() ?? null,
      startedAt: record.started_at.toISOString(),
      completedAt: completedAt.toISOString(),
      rows,
      rowTotal: Object.values(rows).reduce((sum, count) => sum + count, 0),
      objects: record.objects_deleted,
      dataKeysDestroyed: rows[KEYS_TABLE] ?? 0,
      peopleRemoved: record.people_removed,
      backups: await this.backupsHolding(completedAt),
      remaining: { rows: remainingRows, objects: remainingObjects },
      keyId,
    };
    const { signature } = this.signingKey.signDetached(certificateBytes(certificate));
    await this.mailCertificate(tenantId, record.recipients ?? [], certificate, signature);
    await this.transactions.run({ tenantId, stores: 'all' }, async (tx) => {
      // The row stays as the tombstone the platform answers with: its id, status and dates only.
      await tx.query(
        `update tenants set name = 'deleted tenant', slug = 'deleted-' || id::text, settings = '{}'::jsonb,
           updated_at = now() where id = $1`,
        [tenantId],
      );
    });
    await this.platform.query(
      `update tenant_deletions set state = 'completed', completed_at = $2, certificate = $3, signature = $4,
         recipients = null, people = null
       where tenant = $1`,
      [tenantId, certificate.completedAt, JSON.stringify(certificate), signature],
    );
    await this.platformEvent(null, tenantId, 'tenant.deleted');
    return this.record(tenantId);
  }

  /** The backups that still hold the tenant, and when retention removes the last of them. */
  private async backupsHolding(before: Date): Promise<DeletionCertificate['backups']> {
    const rows = await this.platform.query<
      { created_at: Date; local_copy: boolean; offsite_copy: boolean }[]
    >('select created_at, local_copy, offsite_copy from app.backups_before($1)', [before]);
    const kept = rows.map((row) =>
      Math.max(
        row.local_copy ? row.created_at.getTime() + this.config.backupLocalRetentionHours * 3_600_000 : 0,
        row.offsite_copy ? row.created_at.getTime() + this.config.backupOffsiteRetentionDays * 86_400_000 : 0,
      ),
    );
    return {
      count: rows.length,
      retainedUntil: kept.length > 0 ? new Date(Math.max(...kept)).toISOString() : null,
    };
  }

  /** Mailed before the record is closed, so a failure here is retried (an admin may get two). */
  private async mailCertificate(
    tenantId: string,
    recipients: readonly string[],
    certificate: DeletionCertificate,
    signature: string,
  ): Promise<void> {
    if (recipients.length === 0) return;
    const name = await this.transactions.run({ tenantId, stores: 'all' }, async (tx) => {
      const { rows } = await tx.query<{ name: string }>('select name from tenants where id = $1', [tenantId]);
      return rows[0]?.name ?? 'Your dealer group';
    });
    const verifierKeys = (await this.signingKey.published()).map((key) => key.verifierKey);
    const text = JSON.stringify(certificate, null, 2);
    for (const to of recipients) {
      await this.mailer.send({
        to,
        template: 'tenant-deleted',
        data: { tenantName: name, certificate: text, signature, verifierKeys },
      });
    }
  }

  /** In the platform's chain: the tenant's own chain goes with the tenant. */
  private async platformEvent(ctx: RequestContext | null, tenantId: string, action: string): Promise<void> {
    await appendToChains((sql, params) => this.platform.query(sql, params), [null], ctx, {
      action,
      subjectType: 'Tenant',
      subjectId: tenantId,
    });
  }

  private async row(tenantId: string): Promise<DeletionRow | null> {
    const rows = await this.platform.query<DeletionRow[]>(
      'select * from tenant_deletions where tenant = $1',
      [tenantId],
    );
    return rows[0] ?? null;
  }
}

function recordOf(row: DeletionRow): TenantDeletionRecord {
  return {
    tenantId: row.tenant,
    state: row.state,
    reason: row.reason,
    startedAt: row.started_at,
    completedAt: row.completed_at,
    rowCounts: row.row_counts,
    objectsDeleted: row.objects_deleted,
    certificate: row.certificate,
    signature: row.signature,
  };
}
