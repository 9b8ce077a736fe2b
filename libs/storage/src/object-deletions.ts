import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { TenantTransaction, type TenantWork } from '@forecourt/database';
import { ObjectStore } from './object-store';

/** How often each instance removes the deletions that are due (and retries failed ones). */
const SWEEP_MS = 5 * 60_000;
const SWEEP_BATCH = 500;
/** How long an upload may take before its unclaimed object counts as abandoned. */
const UPLOAD_GRACE = '1 day';
const NO_TENANT = '00000000-0000-0000-0000-000000000000';

/**
 * Removal of objects, made as reliable as the rows that own them. A deletion is recorded in the
 * transaction that deletes the rows (`schedule`), carried out right after the commit
 * (`carryOut`), and whatever did not happen then — a crash, storage down — is retried by the
 * sweep. Uploads `reserve` their key before writing and `claim` it with the row that records the
 * object, so an upload cut off between the two leaves nothing behind for long either.
 */
@Injectable()
export class ObjectDeletions implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger(ObjectDeletions.name);
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<number> | null = null;

  constructor(
    private readonly transactions: TenantTransaction,
    private readonly objects: ObjectStore,
  ) {}

  /** In the transaction that drops the rows owning `objectKey`: remove the object once it commits. */
  async schedule(tx: TenantWork, objectKey: string): Promise<void> {
    await tx.query(
      `insert into object_deletions (tenant_id, object_key) values ($1, $2)
       on conflict (tenant_id, object_key) do update set not_before = least(object_deletions.not_before, now())`,
      [tx.scope.tenantId, objectKey],
    );
  }

  /** Before an upload writes `objectKey`: if no row ever claims it, it goes after a day. */
  async reserve(tenantId: string, objectKey: string): Promise<void> {
    await this.transactions.run({ tenantId, stores: [] }, (tx) =>
      tx.query(
        `insert into object_deletions (tenant_id, object_key, not_before)
         values ($1, $2, now() + interval '${UPLOAD_GRACE}') on conflict do nothing`,
        [tenantId, objectKey],
      ),
    );
  }

  /** In the transaction that records the uploaded object: it is owned now, keep it. */
  async claim(tx: TenantWork, objectKey: string): Promise<void> {
    await tx.query('delete from object_deletions where tenant_id = $1 and object_key = $2', [
      tx.scope.tenantId,
      objectKey,
    ]);
  }

  /**
   * In the transaction that records an object which lives for a while (an export's archive):
   * the sweep removes it once `until` has passed, whatever was reserved or scheduled before.
   */
  async keepUntil(tx: TenantWork, objectKey: string, until: Date): Promise<void> {
    await tx.query(
      `insert into object_deletions (tenant_id, object_key, not_before) values ($1, $2, $3)
       on conflict (tenant_id, object_key) do update set not_before = excluded.not_before`,
      [tx.scope.tenantId, objectKey, until],
    );
  }

  /** After the commit: removes the objects; one that fails stays recorded for the sweep. */
  async carryOut(tenantId: string, objectKeys: readonly string[]): Promise<void> {
    for (const objectKey of objectKeys) {
      try {
        await this.objects.delete({ tenantId }, pathOf(tenantId, objectKey));
        await this.transactions.statement(
          { tenantId, stores: [] },
          'delete from object_deletions where tenant_id = $1 and object_key = $2',
          [tenantId, objectKey],
        );
      } catch (error) {
        this.log.warn(`object removal failed, left for the sweep: ${(error as Error).message}`);
      }
    }
  }

  /** Carries out every deletion that is due, in any tenant; how many objects were removed. */
  async sweep(): Promise<number> {
    const { rows } = await this.transactions.statement<{ tenant_id: string; object_key: string }>(
      // No tenant's rows are visible in this scope; the function alone reads across tenants.
      { tenantId: NO_TENANT, stores: [] },
      'select tenant_id, object_key from app.due_object_deletions($1)',
      [SWEEP_BATCH],
    );
    for (const row of rows) await this.carryOut(row.tenant_id, [row.object_key]);
    return rows.length;
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep()
        .catch((error: unknown) => {
          this.log.warn(`object sweep failed: ${(error as Error).message}`);
          return 0;
        })
        .finally(() => (this.sweeping = null));
    }, SWEEP_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }
}

function pathOf(tenantId: string, objectKey: string): string {
  const prefix = `tenants/${tenantId}/`;
  if (!objectKey.startsWith(prefix)) throw new Error('an object key outside its tenant');
  return objectKey.slice(prefix.length);
}
