import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';
import { RouteIds } from '@forecourt/core';

/** A platform route about one tenant (`:id`: the platform acts on it without membership). */
export class PlatformTenantParams extends RouteIds('id') {}

export class TenantStandingDto {
  @ApiProperty() id!: string;
  @ApiProperty({ enum: ['active', 'suspended', 'cancelled', 'grace', 'deleted'] }) status!: string;
  @ApiProperty({ nullable: true, type: Date }) cancelledAt!: Date | null;
  @ApiProperty({ nullable: true, type: Date, description: 'full access ends; read-only grace begins' })
  accessUntil!: Date | null;
  @ApiProperty({ nullable: true, type: Date, description: 'grace ends; the tenant is deleted' })
  deleteAfter!: Date | null;
}

export class DeleteTenantDto {
  @ApiProperty({ description: 'why, for the record and the certificate (e.g. a verified deletion request)' })
  @IsString()
  @Length(1, 500)
  reason!: string;
  @ApiProperty({ description: "the tenant's id again: a deletion cannot be taken back" })
  @IsString()
  @Length(1, 100)
  confirm!: string;
}

export class TenantDeletionDto {
  @ApiProperty() tenantId!: string;
  @ApiProperty({ enum: ['running', 'completed'] }) state!: string;
  @ApiProperty() reason!: string;
  @ApiProperty() startedAt!: Date;
  @ApiProperty({ nullable: true, type: Date }) completedAt!: Date | null;
  @ApiProperty({ nullable: true, type: Object, description: 'rows per tenant table when the deletion began' })
  rowCounts!: Record<string, number> | null;
  @ApiProperty() objectsDeleted!: number;
  @ApiProperty({ nullable: true, type: Object, description: 'the signed deletion certificate' })
  certificate!: object | null;
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Ed25519 over the certificate as canonical JSON, base64',
  })
  signature!: string | null;
}
