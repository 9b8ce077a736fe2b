import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsOptional, IsString, IsUUID, Matches, MaxLength } from 'class-validator';
import { ListQueryDto } from './tenant.dto';

export class AuditQueryDto extends ListQueryDto {
  @ApiPropertyOptional({ example: 'user.read' })
  @IsOptional()
  @Matches(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, { message: 'action must look like subject.verb' })
  @MaxLength(100)
  action?: string;
  @ApiPropertyOptional() @IsOptional() @IsUUID() actorId?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(200) subjectId?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(128) requestId?: string;
}

export class AuditExportQueryDto {
  @ApiPropertyOptional({ enum: ['jsonl', 'csv'], default: 'jsonl' })
  @IsOptional()
  @IsIn(['jsonl', 'csv'])
  format?: 'jsonl' | 'csv';
}

export class AuditEventDto {
  @ApiProperty() seq!: number;
  @ApiProperty() id!: string;
  @ApiProperty() tenantId!: string;
  @ApiProperty({ format: 'date-time' }) at!: string;
  @ApiProperty({ type: String, nullable: true }) actorId!: string | null;
  @ApiProperty({ description: 'the role where it acted, or system / anonymous / user' }) actorRole!: string;
  @ApiProperty({ type: String, nullable: true }) supportGrantId!: string | null;
  @ApiProperty({ example: 'membership.update' }) action!: string;
  @ApiProperty() subjectType!: string;
  @ApiProperty({ type: String, nullable: true }) subjectId!: string | null;
  @ApiProperty({ type: [String], nullable: true, description: 'the ids a list read returned' })
  subjectIds!: string[] | null;
  @ApiProperty({ type: String, nullable: true }) storeId!: string | null;
  @ApiProperty({ type: String, nullable: true }) requestId!: string | null;
  @ApiProperty({ type: String, nullable: true }) ip!: string | null;
  @ApiProperty({ type: String, nullable: true }) userAgent!: string | null;
  @ApiProperty({ enum: ['allowed', 'denied'] }) outcome!: 'allowed' | 'denied';
  @ApiProperty({ type: String, nullable: true }) reason!: string | null;
  @ApiProperty({ type: [String], nullable: true, description: 'names of changed fields, never values' })
  changedFields!: string[] | null;
  @ApiProperty({ description: 'hex SHA-256' }) prevHash!: string;
  @ApiProperty({ description: 'hex SHA-256(prevHash ‖ RFC 8785 JSON of the event)' }) hash!: string;
}

export class AuditPageDto {
  @ApiProperty({ type: [AuditEventDto] }) data!: AuditEventDto[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}

export class VerifyReportDto {
  @ApiProperty() ok!: boolean;
  @ApiProperty() verifiedThroughSeq!: number;
  @ApiProperty({ type: Number, nullable: true }) firstInvalidSeq!: number | null;
  @ApiProperty({ type: String, nullable: true }) reason!: string | null;
  @ApiProperty() checkpointsChecked!: number;
}

export class CheckpointRequestDto {
  @ApiPropertyOptional({ description: "also mail the signed checkpoint to the tenant's admins" })
  @IsOptional()
  @IsBoolean()
  mail?: boolean;
}

export class SignedCheckpointDto {
  @ApiProperty() tenantId!: string;
  @ApiProperty() seq!: number;
  @ApiProperty() hash!: string;
  @ApiProperty({ format: 'date-time' }) signedAt!: string;
  @ApiProperty() keyId!: string;
  @ApiProperty({ description: 'the signed note (C2SP signed-note format)' }) note!: string;
}

export class CheckpointDto extends SignedCheckpointDto {
  @ApiProperty({ description: 'how many admins it was mailed to' }) mailedTo!: number;
}

export class CheckpointListDto {
  @ApiProperty({ type: [SignedCheckpointDto] }) data!: SignedCheckpointDto[];
}

export class AuditKeyDto {
  @ApiProperty() keyId!: string;
  @ApiProperty({ description: 'signed-note verifier key' }) verifierKey!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) retiredAt!: string | null;
}

export class AuditKeysDto {
  @ApiProperty({ type: [AuditKeyDto] }) keys!: AuditKeyDto[];
}
