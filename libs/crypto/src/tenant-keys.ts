import { Injectable } from '@nestjs/common';
import { KeyObject, randomUUID } from 'node:crypto';
import { type TenantQueries, type TenantWork } from '@forecourt/database';
import { DecryptionError, open, seal } from './aead';
import { KeyWrapper } from './envelope';

const KEY_ID_BYTES = 16;

const uuidBytes = (id: string) => Buffer.from(id.replace(/-/g, ''), 'hex');
const uuidOf = (bytes: Buffer) => {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

/**
 * Per-tenant data keys (envelope encryption): each tenant's fields are sealed under its own key,
 * stored in `tenant_keys` only wrapped by the master key and bound to the tenant. A sealed value
 * names its key, so a value of tenant A cannot be opened in tenant B's context — B's transaction
 * cannot even read A's key row (row-level security). Destroying a tenant's keys makes its sealed
 * fields, in the database and in every backup, unreadable.
 */
@Injectable()
export class TenantKeys {
  private readonly cache = new Map<string, KeyObject>();

  constructor(private readonly wrapper: KeyWrapper) {}

  /** Seals `plaintext` under the tenant's active key: `keyId(16) | AES-256-GCM sealed`. */
  async seal(tx: TenantWork, plaintext: Buffer, context: string): Promise<Buffer> {
    const { id, key } = await this.activeKey(tx);
    return Buffer.concat([uuidBytes(id), seal(key, plaintext, `${this.tenantOf(tx)}:${context}`)]);
  }

  /** Opens a value sealed by {@link seal}; `tx` is only queried for a key not yet in memory. */
  async open(tx: TenantQueries, sealed: Buffer, context: string): Promise<Buffer> {
    if (sealed.length <= KEY_ID_BYTES) throw new DecryptionError();
    const keyId = uuidOf(sealed.subarray(0, KEY_ID_BYTES));
    const key = await this.keyById(tx, keyId);
    return open(key, sealed.subarray(KEY_ID_BYTES), `${this.tenantOf(tx)}:${context}`);
  }

  /**
   * Drops the tenant's keys from this process's memory: after its keys are destroyed (a tenant's
   * deletion) nothing sealed under them opens here again.
   */
  forget(tenantId: string): void {
    for (const cached of [...this.cache.keys()]) {
      if (cached.startsWith(`${tenantId}:`)) this.cache.delete(cached);
    }
  }

  private tenantOf(tx: TenantQueries): string {
    const tenantId = tx.scope.tenantId;
    if (!tenantId) throw new Error('tenant keys need a tenant transaction');
    return tenantId;
  }

  private async activeKey(tx: TenantWork): Promise<{ id: string; key: KeyObject }> {
    const tenantId = this.tenantOf(tx);
    const existing = await tx.query<{ id: string; wrapped_key: Buffer }>(
      'select id, wrapped_key from tenant_keys where tenant_id = $1 and retired_at is null',
      [tenantId],
    );
    let row = existing.rows[0];
    if (!row) {
      const id = randomUUID();
      const { wrapped } = this.wrapper.newDataKey(`tenant:${tenantId}:${id}`);
      // Two first uses at once: the partial unique index lets one key win; both then read it.
      await tx.query(
        `insert into tenant_keys (tenant_id, id, wrapped_key) values ($1, $2, $3)
         on conflict (tenant_id) where retired_at is null do nothing`,
        [tenantId, id, wrapped],
      );
      row = (
        await tx.query<{ id: string; wrapped_key: Buffer }>(
          'select id, wrapped_key from tenant_keys where tenant_id = $1 and retired_at is null',
          [tenantId],
        )
      ).rows[0]!;
    }
    return { id: row.id, key: this.unwrap(tenantId, row.id, row.wrapped_key) };
  }

  private async keyById(tx: TenantQueries, keyId: string): Promise<KeyObject> {
    const tenantId = this.tenantOf(tx);
    const cached = this.cache.get(`${tenantId}:${keyId}`);
    if (cached) return cached;
    const { rows } = await tx.query<{ wrapped_key: Buffer }>(
      'select wrapped_key from tenant_keys where tenant_id = $1 and id = $2',
      [tenantId, keyId],
    );
    if (!rows[0]) throw new DecryptionError();
    return this.unwrap(tenantId, keyId, rows[0].wrapped_key);
  }

  private unwrap(tenantId: string, keyId: string, wrapped: Buffer): KeyObject {
    const cacheKey = `${tenantId}:${keyId}`;
    let key = this.cache.get(cacheKey);
    if (!key) {
      key = this.wrapper.unwrap(wrapped, `tenant:${tenantId}:${keyId}`);
      this.cache.set(cacheKey, key);
    }
    return key;
  }
}
