import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsEmail,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { RouteIds } from '@forecourt/core';

export const DEALER_ROLES = ['dealer_admin', 'dealer_manager', 'dealer_sales', 'dealer_marketing'] as const;
export const PLATFORM_ROLES = ['platform_owner', 'platform_support'] as const;

export class CreateTenantDto {
  @ApiProperty() @IsString() @Length(1, 200) name!: string;
  @ApiProperty({ description: 'lower-case letters, digits and hyphens' })
  @IsString()
  @Matches(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, {
    message: 'slug must be lower-case letters, digits and hyphens',
  })
  slug!: string;
  @ApiProperty() @IsEmail() @MaxLength(320) adminEmail!: string;
}

export class TenantDto {
  @ApiProperty() id!: string;
  @ApiProperty() slug!: string;
  @ApiProperty() name!: string;
  @ApiProperty() status!: string;
}

export class ListQueryDto {
  @ApiPropertyOptional({ maximum: 200 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(200) cursor?: string;
}

export class TenantSummaryDto extends TenantDto {
  @ApiProperty() createdAt!: Date;
  @ApiProperty({ nullable: true, type: Date }) cancelledAt!: Date | null;
  @ApiProperty({ nullable: true, type: Date, description: 'full access ends; read-only grace begins' })
  accessUntil!: Date | null;
  @ApiProperty({ nullable: true, type: Date, description: 'grace ends; the tenant is deleted' })
  deleteAfter!: Date | null;
}

export class TenantPageDto {
  @ApiProperty({ type: [TenantSummaryDto] }) data!: TenantSummaryDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

export class TenantParams extends RouteIds('tenantId') {}

export class UserParams extends RouteIds('tenantId', 'userId') {}

export class CreateStoreDto {
  @ApiProperty() @IsString() @Length(1, 200) name!: string;
}

export class StoreDto {
  @ApiProperty() id!: string;
  @ApiProperty() name!: string;
}

export class StorePageDto {
  @ApiProperty({ type: [StoreDto] }) data!: StoreDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

export class CreateInvitationDto {
  @ApiProperty() @IsEmail() @MaxLength(320) email!: string;
  @ApiProperty({ enum: DEALER_ROLES }) @IsIn(DEALER_ROLES) role!: (typeof DEALER_ROLES)[number];
  @ApiPropertyOptional() @IsOptional() @IsBoolean() allStores?: boolean;
  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(500)
  @IsUUID('all', { each: true })
  storeIds?: string[];
}

export class InvitationDto {
  @ApiProperty() id!: string;
  @ApiProperty() email!: string;
  @ApiProperty() role!: string;
  @ApiProperty() expiresAt!: Date;
}

export class CreateStaffInvitationDto {
  @ApiProperty() @IsEmail() @MaxLength(320) email!: string;
  @ApiProperty({ enum: PLATFORM_ROLES }) @IsIn(PLATFORM_ROLES) role!: (typeof PLATFORM_ROLES)[number];
}

export class AcceptInvitationDto {
  @ApiProperty() @IsString() @MaxLength(512) token!: string;
  @ApiProperty() @IsString() @Length(1, 200) name!: string;
  @ApiProperty() @IsString() @Length(1, 256) password!: string;
}

export class TenantUserDto {
  @ApiProperty() id!: string;
  @ApiProperty() email!: string;
  @ApiProperty() name!: string;
  @ApiProperty() role!: string;
  @ApiProperty() allStores!: boolean;
  @ApiProperty({ type: [String] }) storeIds!: string[];
  @ApiProperty() status!: string;
}

export class TenantUserPageDto {
  @ApiProperty({ type: [TenantUserDto] }) data!: TenantUserDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

export class PatchMembershipDto {
  @ApiPropertyOptional({ enum: DEALER_ROLES })
  @IsOptional()
  @IsIn(DEALER_ROLES)
  role?: (typeof DEALER_ROLES)[number];
  @ApiPropertyOptional() @IsOptional() @IsBoolean() allStores?: boolean;
  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(500)
  @IsUUID('all', { each: true })
  storeIds?: string[];
}

export class SignInStepDto {
  @ApiProperty({ enum: ['mfa_enrollment_required', 'mfa_required'] }) status!: string;
  @ApiProperty() mfaToken!: string;
}
