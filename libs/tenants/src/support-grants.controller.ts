import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { type AppAbility, Can, CurrentAbility } from '@forecourt/authz';
import { Ctx, type RequestContext } from '@forecourt/core';
import {
  GrantParams,
  RequestSupportGrantDto,
  SupportGrantListDto,
  SupportGrantStateDto,
} from './support-grant.dto';
import { SupportGrants } from './support-grants.service';
import { TenantParams } from './tenant.dto';
import { Guarded } from './guarded';

/** Platform staff ask a tenant for access. */
@ApiTags('support access')
@Controller('v1/platform/support-grants')
@Guarded()
export class SupportGrantRequestController {
  constructor(private readonly grants: SupportGrants) {}

  @Post()
  @Can('create', 'SupportGrant')
  @ApiCreatedResponse({ type: SupportGrantStateDto })
  request(@Ctx() ctx: RequestContext, @Body() body: RequestSupportGrantDto): Promise<SupportGrantStateDto> {
    return this.grants.request(ctx, body);
  }
}

/** A tenant's grants: its admins approve, revoke and see what was done under each. */
@ApiTags('support access')
@Controller('v1/tenants/:tenantId/support-grants')
@Guarded()
export class SupportGrantController {
  constructor(private readonly grants: SupportGrants) {}

  @Get()
  @Can('read', 'SupportGrant')
  @ApiOkResponse({ type: SupportGrantListDto })
  list(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() _p: TenantParams,
  ): Promise<SupportGrantListDto> {
    return this.grants.list(ctx, ability);
  }

  @Post(':id/approve')
  @HttpCode(200)
  @Can('approve', 'SupportGrant')
  @ApiOkResponse({ type: SupportGrantStateDto })
  approve(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() p: GrantParams,
  ): Promise<SupportGrantStateDto> {
    return this.grants.approve(ctx, ability, p.id);
  }

  @Delete(':id')
  @HttpCode(204)
  @Can('revoke', 'SupportGrant')
  @ApiNoContentResponse()
  revoke(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() p: GrantParams,
  ): Promise<void> {
    return this.grants.revoke(ctx, ability, p.id);
  }
}
