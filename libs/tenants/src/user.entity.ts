import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

export type PlatformRole = 'platform_owner' | 'platform_support';

/** A person who signs in. Global: one account may hold memberships in several tenants. */
@Entity({ name: 'users' })
export class User {
  @PrimaryColumn('uuid') id!: string;
  @Column('text') email!: string;
  @Column('text') name!: string;
  @Column('text', { name: 'password_hash', nullable: true, select: false }) passwordHash!: string | null;
  @Column('bytea', { name: 'mfa_secret', nullable: true, select: false }) mfaSecret!: Buffer | null;
  @Column('text', { name: 'platform_role', nullable: true }) platformRole!: PlatformRole | null;
  @Column('text') status!: 'active' | 'deactivated';
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
