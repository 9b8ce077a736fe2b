import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Param,
  Patch,
  Post,
  Query,
  UseInterceptors,
} from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { type AppAbility, Can, CurrentAbility, Redact } from '@forecourt/authz';
import { Ctx, type RequestContext } from '@forecourt/core';
import { Guarded } from '@forecourt/tenants';
import { LeadsTenantParams } from './customer.dto';
import {
  AssignLeadDto,
  CreateLeadDto,
  LeadDto,
  LeadPageDto,
  LeadParams,
  LeadQueryDto,
  PatchLeadDto,
} from './lead.dto';
import { LeadEntityTag, versionFromIfMatch } from './lead-version';
import { Leads } from './leads.service';

/** A tenant's leads: sales see theirs, managers their stores, marketing without contact details. */
@ApiTags('leads')
@Controller('v1/tenants/:tenantId/leads')
@Guarded()
@UseInterceptors(LeadEntityTag)
export class LeadsController {
  constructor(private readonly leads: Leads) {}

  @Post()
  @Can('create', 'Lead')
  @Redact('Lead')
  @ApiCreatedResponse({ type: LeadDto })
  create(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() _p: LeadsTenantParams,
    @Body() body: CreateLeadDto,
  ): Promise<LeadDto> {
    return this.leads.create(ctx, ability, body);
  }

  @Get()
  @Can('read', 'Lead')
  @Redact('Lead')
  @ApiOkResponse({ type: LeadPageDto })
  list(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() _p: LeadsTenantParams,
    @Query() query: LeadQueryDto,
  ): Promise<LeadPageDto> {
    return this.leads.list(ctx, ability, query);
  }

  @Get(':leadId')
  @Can('read', 'Lead')
  @Redact('Lead')
  @ApiOkResponse({ type: LeadDto })
  get(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() params: LeadParams,
  ): Promise<LeadDto> {
    return this.leads.get(ctx, ability, params.leadId);
  }

  @Patch(':leadId')
  @Can('update', 'Lead')
  @Redact('Lead')
  @ApiOkResponse({ type: LeadDto })
  update(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() params: LeadParams,
    @Body() body: PatchLeadDto,
    @Headers('if-match') ifMatch: string | undefined,
  ): Promise<LeadDto> {
    return this.leads.update(ctx, ability, params.leadId, body, versionFromIfMatch(ifMatch));
  }

  @Post(':leadId/assign')
  @HttpCode(200)
  @Can('assign', 'Lead')
  @Redact('Lead')
  @ApiOkResponse({ type: LeadDto })
  assign(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() params: LeadParams,
    @Body() body: AssignLeadDto,
    @Headers('if-match') ifMatch: string | undefined,
  ): Promise<LeadDto> {
    return this.leads.assign(ctx, ability, params.leadId, body.userId, versionFromIfMatch(ifMatch));
  }
}
