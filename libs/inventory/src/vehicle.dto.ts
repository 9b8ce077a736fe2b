import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  IsDateString,
  IsIn,
  IsInt,
  IsISO4217CurrencyCode,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Max,
  Min,
} from 'class-validator';
import { ListQueryDto } from '@forecourt/tenants';
import { RouteIds } from '@forecourt/core';
import { MEDIA_TYPES } from './media-type';
import { VEHICLE_STATUSES, type VehicleStatus } from './vehicle-status';
import { IsVin, normaliseVin } from './vin';

const MAX_PRICE_MINOR = 100_000_000_000;
const FIRST_CAR_YEAR = 1886;
const trimmed = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export class InventoryParams extends RouteIds('tenantId') {}

export class VehicleParams extends RouteIds('tenantId', 'vehicleId') {}

export class MediaParams extends RouteIds('tenantId', 'vehicleId', 'mediaId') {}

export class CreateVehicleDto {
  @ApiProperty() @IsUUID() storeId!: string;
  @ApiProperty({
    example: '1HGCM82633A004352',
    description: '17 characters, no I/O/Q; check digit verified for North-American VINs',
  })
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? normaliseVin(value) : value))
  @IsVin()
  vin!: string;
  @ApiProperty() @IsInt() @Min(FIRST_CAR_YEAR) @Max(2100) year!: number;
  @ApiProperty() @Transform(trimmed) @IsString() @Length(1, 60) make!: string;
  @ApiProperty() @Transform(trimmed) @IsString() @Length(1, 60) model!: string;
  @ApiPropertyOptional() @IsOptional() @Transform(trimmed) @IsString() @Length(1, 60) trim?: string;
  @ApiProperty() @IsInt() @Min(0) @Max(10_000_000) mileage!: number;
  @ApiProperty({ description: 'in minor units of the currency (cents, paise)' })
  @IsInt()
  @Min(0)
  @Max(MAX_PRICE_MINOR)
  priceMinor!: number;
  @ApiProperty({ example: 'USD' }) @IsISO4217CurrencyCode() currency!: string;
  @ApiPropertyOptional({ enum: ['in_stock', 'reserved'], description: 'a vehicle enters stock unsold' })
  @IsOptional()
  @IsIn(['in_stock', 'reserved'])
  status?: 'in_stock' | 'reserved';
  @ApiPropertyOptional({
    example: '2026-11-02',
    description: 'date the store took the vehicle in; default today',
  })
  @IsOptional()
  @IsDateString({ strict: true, strictSeparator: true })
  @Length(10, 10)
  acquiredAt?: string;
}

export class PatchVehicleDto {
  @ApiPropertyOptional() @IsOptional() @IsUUID() storeId?: string;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(FIRST_CAR_YEAR) @Max(2100) year?: number;
  @ApiPropertyOptional() @IsOptional() @Transform(trimmed) @IsString() @Length(1, 60) make?: string;
  @ApiPropertyOptional() @IsOptional() @Transform(trimmed) @IsString() @Length(1, 60) model?: string;
  @ApiPropertyOptional() @IsOptional() @Transform(trimmed) @IsString() @Length(1, 60) trim?: string;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) @Max(10_000_000) mileage?: number;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) @Max(MAX_PRICE_MINOR) priceMinor?: number;
  @ApiPropertyOptional() @IsOptional() @IsISO4217CurrencyCode() currency?: string;
  @ApiPropertyOptional({ enum: VEHICLE_STATUSES })
  @IsOptional()
  @IsIn(VEHICLE_STATUSES)
  status?: VehicleStatus;
  @ApiPropertyOptional()
  @IsOptional()
  @IsDateString({ strict: true, strictSeparator: true })
  @Length(10, 10)
  acquiredAt?: string;
}

export class VehicleQueryDto extends ListQueryDto {
  @ApiPropertyOptional() @IsOptional() @IsUUID() storeId?: string;
  @ApiPropertyOptional({ enum: VEHICLE_STATUSES })
  @IsOptional()
  @IsIn(VEHICLE_STATUSES)
  status?: VehicleStatus;
  @ApiPropertyOptional({ description: 'exact, case-insensitive' })
  @IsOptional()
  @IsString()
  @Length(1, 60)
  make?: string;
  @ApiPropertyOptional({ description: 'exact, case-insensitive' })
  @IsOptional()
  @IsString()
  @Length(1, 60)
  model?: string;
  @ApiPropertyOptional()
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(FIRST_CAR_YEAR)
  @Max(2100)
  yearMin?: number;
  @ApiPropertyOptional()
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(FIRST_CAR_YEAR)
  @Max(2100)
  yearMax?: number;
  @ApiPropertyOptional()
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(MAX_PRICE_MINOR)
  priceMin?: number;
  @ApiPropertyOptional()
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(MAX_PRICE_MINOR)
  priceMax?: number;
  @ApiPropertyOptional({
    description: 'the start of the make, model or VIN, or the end of the VIN (case-insensitive)',
  })
  @IsOptional()
  @IsString()
  @Length(1, 60)
  q?: string;
}

export class VehicleMediaDto {
  @ApiProperty() id!: string;
  @ApiProperty() vehicleId!: string;
  @ApiProperty({ enum: ['photo', 'document'] }) kind!: 'photo' | 'document';
  @ApiProperty({ enum: MEDIA_TYPES }) contentType!: string;
  @ApiProperty() size!: number;
  @ApiProperty({ description: 'hex SHA-256 of the bytes as uploaded' }) sha256!: string;
  @ApiProperty({ nullable: true, type: String }) fileName!: string | null;
  @ApiProperty() createdAt!: string;
}

export class VehicleMediaListDto {
  @ApiProperty({ type: [VehicleMediaDto] }) data!: VehicleMediaDto[];
}

export class VehicleDto {
  @ApiProperty() id!: string;
  @ApiProperty() storeId!: string;
  @ApiProperty() vin!: string;
  @ApiProperty() year!: number;
  @ApiProperty() make!: string;
  @ApiProperty() model!: string;
  @ApiProperty({ nullable: true, type: String }) trim!: string | null;
  @ApiProperty() mileage!: number;
  @ApiProperty() priceMinor!: number;
  @ApiProperty() currency!: string;
  @ApiProperty({ enum: VEHICLE_STATUSES }) status!: VehicleStatus;
  @ApiProperty({ example: '2026-11-02' }) acquiredAt!: string;
  @ApiProperty({ nullable: true, type: String }) soldAt!: string | null;
  @ApiProperty({ description: 'days from acquisition to today (or to the sale)' }) daysInStock!: number;
}

export class VehicleDetailDto extends VehicleDto {
  @ApiProperty({ type: [VehicleMediaDto] }) media!: VehicleMediaDto[];
}

export class VehiclePageDto {
  @ApiProperty({ type: [VehicleDto] }) data!: VehicleDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

export class MediaDeliveryDto {
  @ApiPropertyOptional({ enum: ['bytes', 'link'], description: 'link: a 302 to a short-lived signed link' })
  @IsOptional()
  @IsIn(['bytes', 'link'])
  delivery?: 'bytes' | 'link';
}

export class MediaLinkParams {
  @ApiProperty() @IsString() @Length(1, 512) token!: string;
}

export class MediaLinkDto {
  @ApiProperty({ description: 'a path on this API, valid without a session until expiresAt' }) url!: string;
  @ApiProperty() expiresAt!: string;
}
