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
import { tenantScopeOf, TenantTransaction } from '@forecourt/database';
import { DatabaseError } from 'pg';
import { StoreDto } from './tenant.dto';
import { TenantError, TenantErrorCode } from './tenant-error';

/** Stores (rooftops) of the caller's tenant, within the caller's store scope. */
@Injectable()
export class Stores {
  constructor(
    private readonly transactions: TenantTransaction,
    private readonly audit: AuditTrail,
  ) {}

  async create(ctx: RequestContext, name: string): Promise<StoreDto> {
    const scope = tenantScopeOf(ctx);
    const id = newId();
    try {
      return await this.transactions.run(scope, async (tx) => {
        const { rows } = await tx.query<StoreDto>(
          'insert into stores (tenant_id, id, name) values ($1, $2, $3) returning id, name',
          [scope.tenantId, id, name.trim()],
        );
        await this.audit.append(tx, ctx, {
          action: 'store.create',
          subjectType: 'Store',
          subjectId: id,
          storeId: id,
        });
        return rows[0]!;
      });
    } catch (error) {
      if (error instanceof DatabaseError && error.constraint === 'stores_name_key') {
        throw new TenantError(TenantErrorCode.StoreNameTaken, `name: a store called "${name}" exists`);
      }
      throw error;
    }
  }

  async list(ctx: RequestContext, limit = DEFAULT_PAGE_SIZE, cursor?: string): Promise<Page<StoreDto>> {
    const scope = tenantScopeOf(ctx);
    const { rows } = await this.transactions.statement<StoreDto>(
      scope,
      `select id, name from stores where tenant_id = $1 and ($2::uuid is null or id > $2) order by id limit $3`,
      [scope.tenantId, decodeCursor(cursor), limit + 1],
    );
    return pageOf(rows, limit);
  }
}
