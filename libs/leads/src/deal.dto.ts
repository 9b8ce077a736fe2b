import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsISO4217CurrencyCode, IsOptional, IsUUID, Max, Min } from 'class-validator';
import { ListQueryDto } from '@forecourt/tenants';
import { RouteIds } from '@forecourt/core';
import { DEAL_STATUSES, type DealStatus } from './deal-status';

const MAX_PRICE_MINOR = 100_000_000_000;

export class DealParams extends RouteIds('tenantId', 'dealId') {}

export class CreateDealDto {
  @ApiProperty() @IsUUID() storeId!: string;
  @ApiProperty() @IsUUID() customerId!: string;
  @ApiProperty() @IsUUID() vehicleId!: string;
  @ApiProperty({ description: 'in minor units' }) @IsInt() @Min(0) @Max(MAX_PRICE_MINOR) priceMinor!: number;
  @ApiProperty({ example: 'USD' }) @IsISO4217CurrencyCode() currency!: string;
  @ApiPropertyOptional({ description: 'default: the caller' })
  @IsOptional()
  @IsUUID()
  assignedUserId?: string;
}

export class PatchDealDto {
  @ApiPropertyOptional({ enum: DEAL_STATUSES }) @IsOptional() @IsIn(DEAL_STATUSES) status?: DealStatus;
  @ApiPropertyOptional({ description: 'only while the deal is a draft' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_PRICE_MINOR)
  priceMinor?: number;
  @ApiPropertyOptional() @IsOptional() @IsISO4217CurrencyCode() currency?: string;
}

export class DealQueryDto extends ListQueryDto {
  @ApiPropertyOptional() @IsOptional() @IsUUID() storeId?: string;
  @ApiPropertyOptional({ enum: DEAL_STATUSES }) @IsOptional() @IsIn(DEAL_STATUSES) status?: DealStatus;
  @ApiPropertyOptional() @IsOptional() @IsUUID() vehicleId?: string;
}

export class DealDto {
  @ApiProperty() id!: string;
  @ApiProperty() storeId!: string;
  @ApiProperty() customerId!: string;
  @ApiProperty() customerName!: string;
  @ApiProperty() vehicleId!: string;
  @ApiProperty() priceMinor!: number;
  @ApiProperty() currency!: string;
  @ApiProperty({ enum: DEAL_STATUSES }) status!: DealStatus;
  @ApiProperty({ nullable: true, type: String }) assignedUserId!: string | null;
  @ApiProperty({ nullable: true, type: String }) signedAt!: string | null;
  @ApiProperty({ nullable: true, type: String }) deliveredAt!: string | null;
  @ApiProperty({ nullable: true, type: String }) cancelledAt!: string | null;
  @ApiProperty() createdAt!: string;
  @ApiProperty({ type: () => BillOfSaleDto, nullable: true }) billOfSale!: BillOfSaleDto | null;
}

export class BillOfSaleDto {
  @ApiProperty() size!: number;
  @ApiProperty({ description: 'hex SHA-256 of the PDF' }) sha256!: string;
  @ApiProperty() uploadedAt!: string;
}

export class DealPageDto {
  @ApiProperty({ type: [DealDto] }) data!: DealDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}
