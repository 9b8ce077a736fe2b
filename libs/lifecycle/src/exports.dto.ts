import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import { RouteIds } from '@forecourt/core';
import { EXPORT_FORMATS, type ExportFormat } from './export-tables';

export const EXPORT_STATUSES = ['queued', 'running', 'completed', 'failed'] as const;
export type ExportStatus = (typeof EXPORT_STATUSES)[number];

export class ExportTenantParams extends RouteIds('tenantId') {}

export class ExportParams extends RouteIds('tenantId', 'exportId') {}

export class CreateExportDto {
  @ApiProperty({ enum: EXPORT_FORMATS, description: 'the files of the archive: JSON Lines or CSV' })
  @IsIn(EXPORT_FORMATS)
  format!: ExportFormat;
}

export class ExportQueuedDto {
  @ApiProperty() id!: string;
  @ApiProperty({ enum: EXPORT_STATUSES }) status!: ExportStatus;
}

export class ExportProgressDto {
  @ApiProperty({ description: 'rows written so far in this run' }) rowsDone!: number;
  @ApiPropertyOptional({ type: Number, nullable: true, description: 'rows to write; null until counted' })
  rowsTotal!: number | null;
}

export class ExportDto {
  @ApiProperty() id!: string;
  @ApiProperty({ enum: EXPORT_STATUSES }) status!: ExportStatus;
  @ApiProperty({ type: ExportProgressDto }) progress!: ExportProgressDto;
  @ApiPropertyOptional({ type: Number, nullable: true, description: 'rows in the archive, once completed' })
  rowCount!: number | null;
  @ApiProperty() createdAt!: string;
  @ApiPropertyOptional({
    type: String,
    nullable: true,
    description: 'when the archive stops being downloadable (7 days after it completed)',
  })
  expiresAt!: string | null;
}
