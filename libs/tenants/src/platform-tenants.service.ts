import { Injectable } from '@nestjs/common';
import {
  decodeCursor,
  DEFAULT_PAGE_SIZE,
  newId,
  type Page,
  pageOf,
  type RequestContext,
} from '@forecourt/core';
import { AuditTrail } from '@forecourt/audit';
import { TenantTransaction } from '@forecourt/database';
import { DatabaseError } from 'pg';
import { Invitations } from './invitations.service';
import { TenantDirectory, TenantDirectoryEntry } from './tenant-directory';
import { CreateTenantDto, TenantDto } from './tenant.dto';
import { TenantError, TenantErrorCode } from './tenant-error';

/** What platform owners do with tenants (dealer groups). */
@Injectable()
export class PlatformTenants {
  constructor(
    private readonly transactions: TenantTransaction,
    private readonly directory: TenantDirectory,
    private readonly invitations: Invitations,
    private readonly audit: AuditTrail,
  ) {}

  /** Creates the tenant and invites its first dealer_admin (the mail goes out after commit). */
  async create(ctx: RequestContext, dto: CreateTenantDto): Promise<TenantDto> {
    const id = newId();
    const actorId = ctx.principal!.userId;
    const { tenant, invitation } = await this.transactions
      .run({ tenantId: id, stores: 'all', userId: actorId }, async (tx) => {
        const { rows } = await tx.query<TenantDto>(
          `insert into tenants (id, slug, name) values ($1, $2, $3) returning id, slug, name, status`,
          [id, dto.slug, dto.name],
        );
        await this.audit.append(tx, ctx, { action: 'tenant.create', subjectType: 'Tenant', subjectId: id });
        const invited = await this.invitations.insert(tx, ctx, {
          email: dto.adminEmail,
          role: 'dealer_admin',
          allStores: true,
          storeIds: [],
        });
        return { tenant: rows[0]!, invitation: invited };
      })
      .catch((error: unknown) => {
        if (error instanceof DatabaseError && error.constraint === 'tenants_slug_key') {
          throw new TenantError(TenantErrorCode.SlugTaken, `slug: "${dto.slug}" is taken`);
        }
        throw error;
      });
    await this.invitations.mail(invitation, tenant.name, ctx);
    return tenant;
  }

  async list(limit = DEFAULT_PAGE_SIZE, cursor?: string): Promise<Page<TenantDirectoryEntry>> {
    return pageOf(await this.directory.page(limit + 1, decodeCursor(cursor)), limit);
  }
}
