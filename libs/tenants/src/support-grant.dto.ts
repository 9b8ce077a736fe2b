import { ApiProperty } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsIn, IsInt, IsString, IsUUID, Length, Max, Min } from 'class-validator';
import { RouteIds } from '@forecourt/core';

export const GRANT_SCOPES = ['read', 'support'] as const;

export class RequestSupportGrantDto {
  @ApiProperty() @IsUUID() tenantId!: string;
  @ApiProperty({ description: 'why access is needed (shown to the tenant)' })
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))
  @IsString()
  @Length(10, 1000)
  reason!: string;
  @ApiProperty({ minimum: 1, maximum: 480 })
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(480)
  durationMinutes!: number;
  @ApiProperty({ enum: GRANT_SCOPES }) @IsIn(GRANT_SCOPES) scope!: 'read' | 'support';
}

export class GrantParams extends RouteIds('tenantId', 'id') {}

export class SupportGrantStateDto {
  @ApiProperty() id!: string;
  @ApiProperty({ enum: ['pending', 'active', 'expired', 'revoked'] }) status!: string;
  @ApiProperty({ type: String, nullable: true, format: 'date-time', required: false }) expiresAt?:
    string | null;
}

export class GrantActionDto {
  @ApiProperty({ type: Number, nullable: true }) seq!: number | null;
  @ApiProperty({ format: 'date-time' }) at!: string;
  @ApiProperty() action!: string;
  @ApiProperty() subjectType!: string;
  @ApiProperty({ type: String, nullable: true }) subjectId!: string | null;
  @ApiProperty() outcome!: string;
}

export class SupportGrantDto {
  @ApiProperty() id!: string;
  @ApiProperty() tenantId!: string;
  @ApiProperty() requesterId!: string;
  @ApiProperty() reason!: string;
  @ApiProperty({ enum: GRANT_SCOPES }) scope!: string;
  @ApiProperty() durationMinutes!: number;
  @ApiProperty({ enum: ['pending', 'active', 'expired', 'revoked'] }) status!: string;
  @ApiProperty({ format: 'date-time' }) requestedAt!: string;
  @ApiProperty({ type: String, nullable: true }) approvedBy!: string | null;
  @ApiProperty() breakGlass!: boolean;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) expiresAt!: string | null;
  @ApiProperty({ type: [GrantActionDto], description: 'what was done under the grant (audit events)' })
  actions!: GrantActionDto[];
}

export class SupportGrantListDto {
  @ApiProperty({ type: [SupportGrantDto] }) data!: SupportGrantDto[];
}
