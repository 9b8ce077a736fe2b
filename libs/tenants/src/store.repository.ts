import { Injectable } from '@nestjs/common';
import { newId } from '@forecourt/core';
import { TenantRepository } from '@forecourt/database';
import { Store } from './store.entity';

export interface NewStore {
  name: string;
  brands?: string[];
}

/** Stores of the tenant in the open transaction; RLS limits them to the transaction's scope. */
@Injectable()
export class StoreRepository extends TenantRepository {
  async create(store: NewStore): Promise<Store> {
    const values = {
      tenantId: this.tenantId,
      id: newId(),
      name: store.name,
      brands: store.brands ?? [],
    };
    await this.tx.manager.insert(Store, values);
    return this.tx.manager.create(Store, { ...values, address: null });
  }

  /** Stores after `afterId` in id (creation) order. */
  async listPage(limit: number, afterId: string | null): Promise<Store[]> {
    const query = this.tx.manager
      .createQueryBuilder(Store, 'store')
      .where('store.tenant_id = :tenantId', { tenantId: this.tenantId })
      .orderBy('store.id', 'ASC')
      .limit(limit);
    if (afterId) query.andWhere('store.id > :afterId', { afterId });
    return query.getMany();
  }

  async findById(id: string): Promise<Store | null> {
    return this.tx.manager.findOne(Store, { where: { tenantId: this.tenantId, id } });
  }
}
