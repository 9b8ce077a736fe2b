import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsOptional, IsString, IsUUID, Length } from 'class-validator';
import { ListQueryDto } from '@forecourt/tenants';
import { RouteIds } from '@forecourt/core';
import { NoCardNumber } from './card-number';
import { LEAD_STATUSES, type LeadStatus } from './lead-status';

const trimmed = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export class LeadParams extends RouteIds('tenantId', 'leadId') {}

export class CreateLeadDto {
  @ApiProperty() @IsUUID() storeId!: string;
  @ApiProperty() @IsUUID() customerId!: string;
  @ApiProperty({ example: 'website' })
  @Transform(trimmed)
  @IsString()
  @Length(1, 100)
  @NoCardNumber()
  source!: string;
  @ApiPropertyOptional() @IsOptional() @IsUUID() vehicleId?: string;
  @ApiPropertyOptional({ description: 'default: the caller, when the caller works leads' })
  @IsOptional()
  @IsUUID()
  assignedUserId?: string;
}

export class PatchLeadDto {
  @ApiPropertyOptional({ enum: LEAD_STATUSES }) @IsOptional() @IsIn(LEAD_STATUSES) status?: LeadStatus;
  @ApiPropertyOptional({ description: 'required when the status becomes lost' })
  @IsOptional()
  @Transform(trimmed)
  @IsString()
  @Length(1, 500)
  @NoCardNumber()
  lostReason?: string;
  @ApiPropertyOptional({ nullable: true, type: String }) @IsOptional() @IsUUID() vehicleId?: string | null;
}

export class AssignLeadDto {
  @ApiProperty() @IsUUID() userId!: string;
}

export class LeadQueryDto extends ListQueryDto {
  @ApiPropertyOptional() @IsOptional() @IsUUID() storeId?: string;
  @ApiPropertyOptional({ enum: LEAD_STATUSES }) @IsOptional() @IsIn(LEAD_STATUSES) status?: LeadStatus;
  @ApiPropertyOptional() @IsOptional() @IsUUID() assignedUserId?: string;
  @ApiPropertyOptional() @IsOptional() @IsUUID() customerId?: string;
}

export class LeadDto {
  @ApiProperty() id!: string;
  @ApiProperty() storeId!: string;
  @ApiProperty() customerId!: string;
  @ApiProperty() customerName!: string;
  @ApiProperty({ nullable: true, type: String }) customerEmail!: string | null;
  @ApiProperty({ nullable: true, type: String }) customerPhone!: string | null;
  @ApiProperty({ nullable: true, type: String }) vehicleId!: string | null;
  @ApiProperty() source!: string;
  @ApiProperty({ enum: LEAD_STATUSES }) status!: LeadStatus;
  @ApiProperty({ nullable: true, type: String }) lostReason!: string | null;
  @ApiProperty({ nullable: true, type: String }) assignedUserId!: string | null;
  @ApiProperty() createdAt!: string;
  @ApiProperty({
    description: 'moves with every change; also the ETag. Send If-Match: "<version>" with a change',
  })
  version!: number;
}

export class LeadPageDto {
  @ApiProperty({ type: [LeadDto] }) data!: LeadDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}
