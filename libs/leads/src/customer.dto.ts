import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  IsEmail,
  IsIn,
  IsISO31661Alpha2,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { ListQueryDto } from '@forecourt/tenants';
import { RouteIds } from '@forecourt/core';
import { NoCardNumber } from './card-number';
import { CONSENT_CHANNELS, CONSENT_PURPOSES, CONSENT_STATUSES } from './consent';

const trimmed = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export class CustomerParams extends RouteIds('tenantId', 'customerId') {}

export class LeadsTenantParams extends RouteIds('tenantId') {}

export class AddressDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(200) @NoCardNumber() line1?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(200) @NoCardNumber() line2?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(100) @NoCardNumber() city?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(100) @NoCardNumber() region?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(20) @NoCardNumber() postalCode?: string;
  @ApiPropertyOptional({ example: 'IN' }) @IsOptional() @IsISO31661Alpha2() country?: string;
}

/** The optional fields a customer is written with. */
class CustomerFieldsDto {
  @ApiPropertyOptional({ description: 'stored trimmed and lower-cased' })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? value.trim().toLowerCase() : value,
  )
  @IsEmail()
  @MaxLength(320)
  email?: string;
  @ApiPropertyOptional({ description: 'international (+…) or national with phoneCountry; stored as E.164' })
  @IsOptional()
  @IsString()
  @Length(3, 32)
  phone?: string;
  @ApiPropertyOptional({ description: 'ISO 3166 country of a national-format phone', example: 'IN' })
  @IsOptional()
  @IsISO31661Alpha2()
  phoneCountry?: string;
  @ApiPropertyOptional({ type: AddressDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => AddressDto)
  address?: AddressDto;
  @ApiPropertyOptional({ description: 'stored encrypted under the tenant key' })
  @IsOptional()
  @IsString()
  @Length(1, 64)
  nationalId?: string;
  @ApiPropertyOptional({ description: 'stored encrypted under the tenant key' })
  @IsOptional()
  @IsString()
  @Length(1, 64)
  driverLicense?: string;
  @ApiPropertyOptional({
    description:
      'market-specific identifiers (e.g. PAN, Aadhaar): up to 20 keys, values up to 200 characters; stored encrypted',
    example: { pan: 'ABCDE1234F' },
  })
  @IsOptional()
  @IsObject()
  sensitive?: Record<string, string>;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(5000) @NoCardNumber() notes?: string;
}

export class CreateCustomerDto extends CustomerFieldsDto {
  @ApiProperty() @IsUUID() storeId!: string;
  @ApiProperty() @Transform(trimmed) @IsString() @Length(1, 200) @NoCardNumber() name!: string;
}

/** A change: any field; `null` removes an optional one. */
export class PatchCustomerDto extends CustomerFieldsDto {
  @ApiPropertyOptional() @IsOptional() @IsUUID() storeId?: string;
  @ApiPropertyOptional()
  @IsOptional()
  @Transform(trimmed)
  @IsString()
  @Length(1, 200)
  @NoCardNumber()
  name?: string;
}

export class CustomerQueryDto extends ListQueryDto {
  @ApiPropertyOptional() @IsOptional() @IsUUID() storeId?: string;
  @ApiPropertyOptional({
    description: 'the start of the name or e-mail (case-insensitive), or the last digits of the phone',
  })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  q?: string;
}

export class ConsentStateDto {
  @ApiProperty({ enum: CONSENT_CHANNELS }) channel!: string;
  @ApiProperty({ enum: CONSENT_PURPOSES }) purpose!: string;
  @ApiProperty({ enum: CONSENT_STATUSES }) status!: string;
  @ApiProperty() at!: string;
  @ApiProperty() source!: string;
}

export class ConsentEventDto extends ConsentStateDto {
  @ApiProperty() id!: string;
  @ApiProperty({ nullable: true, type: String }) actorId!: string | null;
}

export class ConsentLedgerDto {
  @ApiProperty({ type: [ConsentStateDto], description: 'the latest event per channel and purpose' })
  current!: ConsentStateDto[];
  @ApiProperty({ type: [ConsentEventDto], description: 'every event, oldest first' })
  history!: ConsentEventDto[];
}

export class RecordConsentDto {
  @ApiProperty({ enum: CONSENT_CHANNELS })
  @IsIn(CONSENT_CHANNELS)
  channel!: (typeof CONSENT_CHANNELS)[number];
  @ApiProperty({ enum: CONSENT_PURPOSES })
  @IsIn(CONSENT_PURPOSES)
  purpose!: (typeof CONSENT_PURPOSES)[number];
  @ApiProperty({ enum: CONSENT_STATUSES }) @IsIn(CONSENT_STATUSES) status!: (typeof CONSENT_STATUSES)[number];
  @ApiProperty({
    description: 'where the consent was given or withdrawn, e.g. "showroom form", "unsubscribe link"',
  })
  @Transform(trimmed)
  @IsString()
  @Length(1, 200)
  @NoCardNumber()
  source!: string;
}

export class CustomerSummaryDto {
  @ApiProperty() id!: string;
  @ApiProperty() storeId!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ nullable: true, type: String }) email!: string | null;
  @ApiProperty({ nullable: true, type: String }) phone!: string | null;
  @ApiProperty({ type: [ConsentStateDto] }) consents!: ConsentStateDto[];
  @ApiProperty() createdAt!: string;
}

export class CustomerDto extends CustomerSummaryDto {
  @ApiProperty({ type: AddressDto, nullable: true }) address!: AddressDto | null;
  @ApiProperty({ nullable: true, type: String }) nationalId!: string | null;
  @ApiProperty({ nullable: true, type: String }) driverLicense!: string | null;
  @ApiProperty({ nullable: true, type: Object }) sensitive!: Record<string, string> | null;
  @ApiProperty({ nullable: true, type: String }) notes!: string | null;
}

export class CustomerPageDto {
  @ApiProperty({ type: [CustomerSummaryDto] }) data!: CustomerSummaryDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}
