import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Can } from '@forecourt/authz';
import { Ctx, type RequestContext } from '@forecourt/core';
import { Guarded, TenantParams } from '@forecourt/tenants';
import { DeleteTenantDto, PlatformTenantParams, TenantDeletionDto, TenantStandingDto } from './lifecycle.dto';
import { TenantCancellation } from './tenant-cancellation';
import { TenantDeletions } from './tenant-deletions';

/** The dealer group leaving: its admin cancels. */
@ApiTags('lifecycle')
@Controller('v1/tenants/:tenantId')
@Guarded()
export class TenantLifecycleController {
  constructor(private readonly cancellation: TenantCancellation) {}

  @Post('cancel')
  @HttpCode(200)
  @Can('cancel', 'Tenant')
  @ApiOkResponse({ type: TenantStandingDto })
  cancel(@Ctx() ctx: RequestContext, @Param() params: TenantParams): Promise<TenantStandingDto> {
    return this.cancellation.cancel(ctx, params.tenantId);
  }
}

/** The platform's side: taking a cancellation back in grace, deleting at once, the certificates. */
@ApiTags('lifecycle')
@Controller('v1/platform/tenants/:id')
@Guarded()
export class PlatformLifecycleController {
  constructor(
    private readonly cancellation: TenantCancellation,
    private readonly deletions: TenantDeletions,
  ) {}

  @Post('restore')
  @HttpCode(200)
  @Can('restore', 'Tenant')
  @ApiOkResponse({ type: TenantStandingDto })
  restore(@Ctx() ctx: RequestContext, @Param() params: PlatformTenantParams): Promise<TenantStandingDto> {
    return this.cancellation.restore(ctx, params.id);
  }

  @Post('deletion')
  @HttpCode(200)
  @Can('create', 'TenantDeletion')
  @ApiOkResponse({ type: TenantDeletionDto })
  deleteNow(
    @Ctx() ctx: RequestContext,
    @Param() params: PlatformTenantParams,
    @Body() body: DeleteTenantDto,
  ): Promise<TenantDeletionDto> {
    return this.deletions.deleteNow(ctx, params.id, body.reason, body.confirm);
  }

  @Get('deletion')
  @Can('read', 'TenantDeletion')
  @ApiOkResponse({ type: TenantDeletionDto })
  deletion(@Param() params: PlatformTenantParams): Promise<TenantDeletionDto> {
    return this.deletions.record(params.id);
  }
}
