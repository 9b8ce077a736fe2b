import { ApiProperty } from '@nestjs/swagger';

export class BackupDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ enum: ['running', 'completed', 'failed'] }) status!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) finishedAt!: string | null;
  @ApiProperty({ type: Number, nullable: true, description: 'the file: compressed and encrypted' })
  sizeBytes!: number | null;
  @ApiProperty({ type: Number, nullable: true, description: 'the rows as COPY text, before compression' })
  dataBytes!: number | null;
  @ApiProperty({ type: Number, nullable: true }) rowCount!: number | null;
  @ApiProperty({
    type: String,
    enum: ['passed', 'failed'],
    nullable: true,
    description: 'the automatic restore test',
  })
  verifyStatus!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) verifiedAt!: string | null;
  @ApiProperty({ type: Number, nullable: true, description: 'how long the restore test took' })
  verifyMs!: number | null;
  @ApiProperty({ type: String, nullable: true, description: 'what the restore test found' })
  verifyDetail!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'why the backup failed' }) error!: string | null;
  @ApiProperty({ description: 'the local file (DATA_DIR/backups) is still kept' }) localCopy!: boolean;
  @ApiProperty({ description: 'the off-site copy (BACKUP_S3_*) is still kept' }) offsiteCopy!: boolean;
  @ApiProperty({
    type: String,
    enum: ['uploaded', 'failed'],
    nullable: true,
    description: 'the off-site upload',
  })
  offsiteStatus!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'why the off-site upload failed' })
  offsiteError!: string | null;
}

export class BackupListDto {
  @ApiProperty({ type: [BackupDto] }) data!: BackupDto[];
}

export class StartedBackupDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: ['running'] }) status!: 'running';
}
