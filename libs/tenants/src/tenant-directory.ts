import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

export interface TenantDirectoryEntry {
  id: string;
  slug: string;
  name: string;
  status: string;
  createdAt: Date;
}

/**
 * The platform's list of tenants: the one cross-tenant read, through a narrow SECURITY DEFINER
 * function that returns directory columns only. Callers must have checked that the principal
 * is a platform role.
 */
@Injectable()
export class TenantDirectory {
  constructor(private readonly dataSource: DataSource) {}

  async page(limit: number, afterId: string | null): Promise<TenantDirectoryEntry[]> {
    const rows = await this.dataSource.query<
      { id: string; slug: string; name: string; status: string; created_at: Date }[]
    >('select * from app.platform_tenant_directory($1, $2)', [afterId, limit]);
    return rows.map((row) => ({
      id: row.id,
      slug: row.slug,
      name: row.name,
      status: row.status,
      createdAt: row.created_at,
    }));
  }
}
