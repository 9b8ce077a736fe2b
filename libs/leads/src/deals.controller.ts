import { Body, Controller, Get, Param, Patch, Post, Put, Query, Req, StreamableFile } from '@nestjs/common';
import { ApiConsumes, ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { uploadOf } from '@forecourt/inventory';
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

  @Put(':dealId/bill-of-sale')
  @Can('update', 'Deal')
  @Redact('Deal')
  @ApiConsumes('multipart/form-data')
  @ApiOkResponse({ type: DealDto })
  async uploadBillOfSale(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() params: DealParams,
    @Req() request: FastifyRequest,
  ): Promise<DealDto> {
    const upload = await uploadOf(request, this.deals.maxUploadBytes);
    return this.deals.uploadBillOfSale(ctx, ability, params.dealId, upload);
  }

  @Get(':dealId/bill-of-sale')
  @Can('read', 'Deal')
  @ApiOkResponse({ description: 'the PDF, decrypted' })
  async billOfSale(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() params: DealParams,
  ): Promise<StreamableFile> {
    const document = await this.deals.billOfSale(ctx, ability, params.dealId);
    return new StreamableFile(document.body, {
      type: document.contentType,
      length: document.size,
      disposition: `attachment; filename="${document.fileName}"`,
    });
  }
}
