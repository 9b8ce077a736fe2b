import { Body, Controller, Get, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { type AppAbility, Can, CurrentAbility, Redact } from '@forecourt/authz';
import { Ctx, type RequestContext } from '@forecourt/core';
import { Guarded, ListQueryDto } from '@forecourt/tenants';
import { Bookings } from './bookings.service';
import {
  BookingDto,
  BookingPageDto,
  BookingParams,
  BookingQueryDto,
  CreateBookingDto,
  MessageDto,
  MessagePageDto,
  PatchBookingDto,
  PostMessageDto,
} from './conversation.dto';
import { Conversations } from './conversations.service';
import { LeadsTenantParams } from './customer.dto';
import { LeadParams } from './lead.dto';

/** A lead's conversation: never for marketing, for sales only on their own leads. */
@ApiTags('leads')
@Controller('v1/tenants/:tenantId/leads/:leadId/messages')
@Guarded()
export class MessagesController {
  constructor(private readonly conversations: Conversations) {}

  @Post()
  @Can('create', 'Message')
  @Redact('Message')
  @ApiCreatedResponse({ type: MessageDto })
  post(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() params: LeadParams,
    @Body() body: PostMessageDto,
  ): Promise<MessageDto> {
    return this.conversations.post(ctx, ability, params.leadId, body);
  }

  @Get()
  @Can('read', 'Message')
  @Redact('Message')
  @ApiOkResponse({ type: MessagePageDto })
  list(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() params: LeadParams,
    @Query() query: ListQueryDto,
  ): Promise<MessagePageDto> {
    return this.conversations.list(ctx, ability, params.leadId, query.limit, query.cursor);
  }
}

/** Test drives and appointments, within the caller's stores. */
@ApiTags('leads')
@Controller('v1/tenants/:tenantId/bookings')
@Guarded()
export class BookingsController {
  constructor(private readonly bookings: Bookings) {}

  @Post()
  @Can('create', 'Booking')
  @Redact('Booking')
  @ApiCreatedResponse({ type: BookingDto })
  create(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() _p: LeadsTenantParams,
    @Body() body: CreateBookingDto,
  ): Promise<BookingDto> {
    return this.bookings.create(ctx, ability, body);
  }

  @Get()
  @Can('read', 'Booking')
  @Redact('Booking')
  @ApiOkResponse({ type: BookingPageDto })
  list(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() _p: LeadsTenantParams,
    @Query() query: BookingQueryDto,
  ): Promise<BookingPageDto> {
    return this.bookings.list(ctx, ability, query);
  }

  @Get(':bookingId')
  @Can('read', 'Booking')
  @Redact('Booking')
  @ApiOkResponse({ type: BookingDto })
  get(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() params: BookingParams,
  ): Promise<BookingDto> {
    return this.bookings.get(ctx, ability, params.bookingId);
  }

  @Patch(':bookingId')
  @Can('update', 'Booking')
  @Redact('Booking')
  @ApiOkResponse({ type: BookingDto })
  update(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() params: BookingParams,
    @Body() body: PatchBookingDto,
  ): Promise<BookingDto> {
    return this.bookings.update(ctx, ability, params.bookingId, body);
  }
}
