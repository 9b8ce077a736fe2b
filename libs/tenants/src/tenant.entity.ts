import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

export type TenantStatus = 'active' | 'suspended' | 'cancelled' | 'grace' | 'deleted';

/** A dealer group: the root of all its data (its id is every row's `tenant_id`). */
@Entity({ name: 'tenants' })
export class Tenant {
  @PrimaryColumn('uuid') id!: string;
  @Column('text') slug!: string;
  @Column('text') name!: string;
  @Column('text') status!: TenantStatus;
  @Column('text', { nullable: true }) plan!: string | null;
  @Column('text') region!: string;
  @Column('timestamptz', { name: 'billing_period_end', nullable: true }) billingPeriodEnd!: Date | null;
  @Column('timestamptz', { name: 'cancelled_at', nullable: true }) cancelledAt!: Date | null;
  @Column('timestamptz', { name: 'access_until', nullable: true }) accessUntil!: Date | null;
  @Column('timestamptz', { name: 'delete_after', nullable: true }) deleteAfter!: Date | null;
  @Column('jsonb') settings!: Record<string, unknown>;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
