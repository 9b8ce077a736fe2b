import { ApiProperty } from '@nestjs/swagger';

class ReadinessChecksDto {
  @ApiProperty({ enum: ['ok', 'unreachable'] }) database!: 'ok' | 'unreachable';
  @ApiProperty({ enum: ['current', 'pending', 'unknown'] }) migrations!: 'current' | 'pending' | 'unknown';
  @ApiProperty({ enum: ['ok', 'unreachable'] }) storage!: 'ok' | 'unreachable';
}

export class ReadinessDto {
  @ApiProperty({ enum: ['ready'] }) status!: 'ready';
  @ApiProperty({ type: ReadinessChecksDto }) checks!: ReadinessChecksDto;
}
