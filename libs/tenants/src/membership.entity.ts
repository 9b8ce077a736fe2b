import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

export type DealerRole = 'dealer_admin' | 'dealer_manager' | 'dealer_sales' | 'dealer_marketing';

/** A user's role in one tenant, with its store scope. */
@Entity({ name: 'memberships' })
export class Membership {
  @PrimaryColumn('uuid', { name: 'tenant_id' }) tenantId!: string;
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid', { name: 'user_id' }) userId!: string;
  @Column('text') role!: DealerRole;
  @Column('boolean', { name: 'all_stores' }) allStores!: boolean;
  @Column('uuid', { name: 'store_ids', array: true }) storeIds!: string[];
  @Column('text') status!: 'active' | 'deactivated';
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
