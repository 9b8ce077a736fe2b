import { ApiProperty } from '@nestjs/swagger';

class ReadinessChecksDto {
  @ApiProperty({ enum: ['ok', 'unreachable'] }) database!: 'ok' | 'unreachable';
  @ApiProperty({ enum: ['current', 'pending', 'unknown'] }) migrations!: 'current' | 'pending' | 'unknown';
}

export class ReadinessDto {
  @ApiProperty({ enum: ['ready'] }) status!: 'ready';
  @ApiProperty({ type: ReadinessChecksDto }) checks!: ReadinessChecksDto;
}
