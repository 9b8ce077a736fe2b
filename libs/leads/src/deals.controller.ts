import { Body, Controller, Get, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { type AppAbility, Can, CurrentAbility, Redact } from '@forecourt/authz';
import { Ctx, type RequestContext } from '@forecourt/core';
import { Guarded } from '@forecourt/tenants';
import { LeadsTenantParams } from './customer.dto';
import { CreateDealDto, DealDto, DealPageDto, DealParams, DealQueryDto, PatchDealDto } from './deal.dto';
import { Deals } from './deals.service';

/** A tenant's deals: sales theirs, managers their stores, marketing without the customer. */
@ApiTags('deals')
@Controller('v1/tenants/:tenantId/deals')
@Guarded()
export class DealsController {
  constructor(private readonly deals: Deals) {}

  @Post()
  @Can('create', 'Deal')
  @Redact('Deal')
  @ApiCreatedResponse({ type: DealDto })
  create(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() _p: LeadsTenantParams,
    @Body() body: CreateDealDto,
  ): Promise<DealDto> {
    return this.deals.create(ctx, ability, body);
  }

  @Get()
  @Can('read', 'Deal')
  @Redact('Deal')
  @ApiOkResponse({ type: DealPageDto })
  list(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() _p: LeadsTenantParams,
    @Query() query: DealQueryDto,
  ): Promise<DealPageDto> {
    return this.deals.list(ctx, ability, query);
  }

  @Get(':dealId')
  @Can('read', 'Deal')
  @Redact('Deal')
  @ApiOkResponse({ type: DealDto })
  get(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() params: DealParams,
  ): Promise<DealDto> {
    return this.deals.get(ctx, ability, params.dealId);
  }

  @Patch(':dealId')
  @Can('update', 'Deal')
  @Redact('Deal')
  @ApiOkResponse({ type: DealDto })
  update(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() params: DealParams,
    @Body() body: PatchDealDto,
  ): Promise<DealDto> {
    return this.deals.update(ctx, ability, params.dealId, body);
  }
}
