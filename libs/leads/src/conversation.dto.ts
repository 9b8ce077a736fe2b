import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDateString, IsIn, IsOptional, IsString, IsUUID, Length } from 'class-validator';
import { ListQueryDto } from '@forecourt/tenants';
import { RouteIds } from '@forecourt/core';
import { NoCardNumber } from './card-number';

export const MESSAGE_DIRECTIONS = ['inbound', 'outbound'] as const;
export const MESSAGE_CHANNELS = ['email', 'sms', 'phone', 'whatsapp', 'in_person'] as const;
export const BOOKING_KINDS = ['test_drive', 'appointment'] as const;

export class PostMessageDto {
  @ApiProperty() @IsString() @Length(1, 10_000) @NoCardNumber() body!: string;
  @ApiPropertyOptional({ enum: MESSAGE_DIRECTIONS, default: 'outbound' })
  @IsOptional()
  @IsIn(MESSAGE_DIRECTIONS)
  direction?: (typeof MESSAGE_DIRECTIONS)[number];
  @ApiPropertyOptional({ enum: MESSAGE_CHANNELS, default: 'email' })
  @IsOptional()
  @IsIn(MESSAGE_CHANNELS)
  channel?: (typeof MESSAGE_CHANNELS)[number];
}

export class MessageDto {
  @ApiProperty() id!: string;
  @ApiProperty() leadId!: string;
  @ApiProperty({ enum: MESSAGE_DIRECTIONS }) direction!: string;
  @ApiProperty({ enum: MESSAGE_CHANNELS }) channel!: string;
  @ApiProperty() body!: string;
  @ApiProperty({ nullable: true, type: String }) authorId!: string | null;
  @ApiProperty() at!: string;
}

export class MessagePageDto {
  @ApiProperty({ type: [MessageDto] }) data!: MessageDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

export class BookingParams extends RouteIds('tenantId', 'bookingId') {}

export class CreateBookingDto {
  @ApiProperty() @IsUUID() leadId!: string;
  @ApiProperty({ enum: BOOKING_KINDS }) @IsIn(BOOKING_KINDS) kind!: (typeof BOOKING_KINDS)[number];
  @ApiProperty({ example: '2026-12-02T10:00:00Z' }) @IsDateString({ strict: true }) startsAt!: string;
  @ApiProperty({ example: '2026-12-02T10:45:00Z' }) @IsDateString({ strict: true }) endsAt!: string;
  @ApiPropertyOptional({ description: 'required for a test drive' })
  @IsOptional()
  @IsUUID()
  vehicleId?: string;
  @ApiPropertyOptional({ description: 'default: the caller' })
  @IsOptional()
  @IsUUID()
  assignedUserId?: string;
}

export class PatchBookingDto {
  @ApiPropertyOptional() @IsOptional() @IsDateString({ strict: true }) startsAt?: string;
  @ApiPropertyOptional() @IsOptional() @IsDateString({ strict: true }) endsAt?: string;
  @ApiPropertyOptional({ enum: ['cancelled'] }) @IsOptional() @IsIn(['cancelled']) status?: 'cancelled';
}

export class BookingQueryDto extends ListQueryDto {
  @ApiPropertyOptional() @IsOptional() @IsUUID() storeId?: string;
  @ApiPropertyOptional() @IsOptional() @IsUUID() vehicleId?: string;
  @ApiPropertyOptional() @IsOptional() @IsUUID() leadId?: string;
}

export class BookingDto {
  @ApiProperty() id!: string;
  @ApiProperty() storeId!: string;
  @ApiProperty() leadId!: string;
  @ApiProperty() customerName!: string;
  @ApiProperty({ enum: BOOKING_KINDS }) kind!: string;
  @ApiProperty({ nullable: true, type: String }) vehicleId!: string | null;
  @ApiProperty() startsAt!: string;
  @ApiProperty() endsAt!: string;
  @ApiProperty({ nullable: true, type: String }) assignedUserId!: string | null;
  @ApiProperty({ enum: ['booked', 'cancelled'] }) status!: string;
}

export class BookingPageDto {
  @ApiProperty({ type: [BookingDto] }) data!: BookingDto[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}
