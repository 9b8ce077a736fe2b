import { ApiProperty } from '@nestjs/swagger';

class ReadinessChecksDto {
  @ApiProperty({ enum: ['ok', 'unreachable'] }) database!: 'ok' | 'unreachable';
  @ApiProperty({ enum: ['current', 'pending', 'unknown'] }) migrations!: 'current' | 'pending' | 'unknown';
  @ApiProperty({ enum: ['ok', 'unreachable'] }) storage!: 'ok' | 'unreachable';
  @ApiProperty({
    enum: ['ok', 'stale', 'none', 'unknown'],
    description: 'a backup passed its restore test within 26 hours (ok), longer ago (stale), never (none)',
  })
  backup!: 'ok' | 'stale' | 'none' | 'unknown';
}

export class ReadinessDto {
  @ApiProperty({ enum: ['ready', 'degraded'], description: 'degraded: serving, but backups need attention' })
  status!: 'ready' | 'degraded';
  @ApiProperty({ type: ReadinessChecksDto }) checks!: ReadinessChecksDto;
}
