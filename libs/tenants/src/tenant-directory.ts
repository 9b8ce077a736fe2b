import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Clock } from '@forecourt/core';
import { lifecycleStateOf } from './tenant-lifecycle';

export interface TenantDirectoryEntry {
  id: string;
  slug: string;
  name: string;
  /** Where the tenant stands in its lifecycle now: active, suspended, cancelled, grace or deleted. */
  status: string;
  createdAt: Date;
  cancelledAt: Date | null;
  /** A cancelled tenant's full access ends here; its read-only grace begins. */
  accessUntil: Date | null;
  /** Its grace ends here and the daily deletion run deletes it. */
  deleteAfter: Date | null;
}

/**
 * The platform's list of tenants: the one cross-tenant read, through a narrow SECURITY DEFINER
 * function that returns directory columns only. Callers must have checked that the principal
 * is a platform role.
 */
@Injectable()
export class TenantDirectory {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {}

  async page(limit: number, afterId: string | null): Promise<TenantDirectoryEntry[]> {
    const rows = await this.dataSource.query<
      {
        id: string;
        slug: string;
        name: string;
        status: string;
        created_at: Date;
        cancelled_at: Date | null;
        access_until: Date | null;
        delete_after: Date | null;
      }[]
    >('select * from app.platform_tenant_directory($1, $2)', [afterId, limit]);
    const now = this.clock.now();
    return rows.map((row) => {
      const dates = { accessUntil: row.access_until, deleteAfter: row.delete_after };
      return {
        id: row.id,
        slug: row.slug,
        name: row.name,
        status: lifecycleStateOf({ status: row.status, ...dates }, now),
        createdAt: row.created_at,
        cancelledAt: row.cancelled_at,
        ...dates,
      };
    });
  }
}
