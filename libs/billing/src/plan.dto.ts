import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsDefined,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';

export class PlanLimitsDto {
  @ApiPropertyOptional({ description: 'stores a tenant on this plan may have; absent: no limit' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100_000)
  stores?: number;

  @ApiPropertyOptional({ description: 'active members a tenant on this plan may have; absent: no limit' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  users?: number;
}

/** A plan as the platform owner sets it; `code` is what the provider's subscription names. */
export class PlanInputDto {
  @ApiProperty() @IsString() @Length(1, 100) name!: string;
  @ApiProperty({ description: 'price per store per month, in minor units' })
  @IsInt()
  @Min(0)
  @Max(100_000_000)
  pricePerStoreMinor!: number;
  @ApiProperty({ description: 'ISO 4217, upper case' })
  @IsString()
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be an ISO 4217 code in upper case' })
  currency!: string;
  // Required: without @IsDefined a missing `limits` passed validation and the service read its fields (a 500).
  @ApiProperty({ type: PlanLimitsDto })
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => PlanLimitsDto)
  limits!: PlanLimitsDto;
}

export class CreatePlanDto extends PlanInputDto {
  @ApiProperty({ description: 'lower-case letters, digits and hyphens; the provider price lookup key' })
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9-]{0,39}$/, { message: 'code must be lower-case letters, digits and hyphens' })
  code!: string;
}

export class PlanDto {
  @ApiProperty() code!: string;
  @ApiProperty() name!: string;
  @ApiProperty() pricePerStoreMinor!: number;
  @ApiProperty() currency!: string;
  @ApiProperty({ type: PlanLimitsDto }) limits!: PlanLimitsDto;
}
