import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { type AppAbility, Can, CurrentAbility, Redact, WithoutPolicy } from '@forecourt/authz';
import { Ctx, type RequestContext } from '@forecourt/core';
import { Invitations } from './invitations.service';
import { Members } from './members.service';
import { PlatformTenants } from './platform-tenants.service';
import { Stores } from './stores.service';
import {
  AcceptInvitationDto,
  CreateInvitationDto,
  CreateStaffInvitationDto,
  CreateStoreDto,
  CreateTenantDto,
  InvitationDto,
  ListQueryDto,
  PatchMembershipDto,
  SignInStepDto,
  StoreDto,
  StorePageDto,
  TenantDto,
  TenantPageDto,
  TenantParams,
  TenantUserDto,
  TenantUserPageDto,
  UserParams,
} from './tenant.dto';
import { Guarded } from './guarded';

/** Platform-wide: tenants and staff, for platform roles only. */
@ApiTags('platform')
@Controller('v1/platform')
@Guarded()
export class PlatformController {
  constructor(
    private readonly tenants: PlatformTenants,
    private readonly invitations: Invitations,
  ) {}

  @Post('tenants')
  @Can('create', 'Tenant')
  @ApiCreatedResponse({ type: TenantDto })
  createTenant(@Ctx() ctx: RequestContext, @Body() body: CreateTenantDto): Promise<TenantDto> {
    return this.tenants.create(ctx, body);
  }

  @Get('tenants')
  @Can('read', 'Tenant')
  @ApiOkResponse({ type: TenantPageDto })
  listTenants(@Query() query: ListQueryDto): Promise<TenantPageDto> {
    return this.tenants.list(query.limit, query.cursor);
  }

  @Post('staff/invitations')
  @Can('create', 'StaffInvitation')
  @ApiCreatedResponse({ type: InvitationDto })
  inviteStaff(@Ctx() ctx: RequestContext, @Body() body: CreateStaffInvitationDto): Promise<InvitationDto> {
    return this.invitations.inviteStaff(ctx, body);
  }
}

/** A tenant's stores, invitations and people. */
@ApiTags('tenants')
@Controller('v1/tenants/:tenantId')
@Guarded()
export class TenantController {
  constructor(
    private readonly stores: Stores,
    private readonly invitations: Invitations,
    private readonly members: Members,
  ) {}

  @Post('stores')
  @Can('create', 'Store')
  @ApiCreatedResponse({ type: StoreDto })
  createStore(
    @Ctx() ctx: RequestContext,
    @Param() _p: TenantParams,
    @Body() body: CreateStoreDto,
  ): Promise<StoreDto> {
    return this.stores.create(ctx, body.name);
  }

  @Get('stores')
  @Can('read', 'Store')
  @ApiOkResponse({ type: StorePageDto })
  listStores(
    @Ctx() ctx: RequestContext,
    @Param() _p: TenantParams,
    @Query() query: ListQueryDto,
  ): Promise<StorePageDto> {
    return this.stores.list(ctx, query.limit, query.cursor);
  }

  @Post('invitations')
  @Can('create', 'Invitation')
  @ApiCreatedResponse({ type: InvitationDto })
  invite(
    @Ctx() ctx: RequestContext,
    @Param() _p: TenantParams,
    @Body() body: CreateInvitationDto,
  ): Promise<InvitationDto> {
    return this.invitations.invite(ctx, {
      email: body.email,
      role: body.role,
      allStores: body.allStores ?? body.role === 'dealer_admin',
      storeIds: body.storeIds ?? [],
    });
  }

  @Get('users')
  @Can('read', 'User')
  @Redact('User')
  @ApiOkResponse({ type: TenantUserPageDto })
  listUsers(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() _p: TenantParams,
    @Query() query: ListQueryDto,
  ): Promise<TenantUserPageDto> {
    return this.members.list(ctx, ability, query.limit, query.cursor);
  }

  @Get('users/:userId')
  @Can('read', 'User')
  @Redact('User')
  @ApiOkResponse({ type: TenantUserDto })
  getUser(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() p: UserParams,
  ): Promise<TenantUserDto> {
    return this.members.get(ctx, ability, p.userId);
  }

  @Patch('users/:userId')
  @Can('update', 'User')
  @ApiOkResponse({ type: TenantUserDto })
  updateUser(
    @Ctx() ctx: RequestContext,
    @Param() p: UserParams,
    @Body() body: PatchMembershipDto,
  ): Promise<TenantUserDto> {
    return this.members.update(ctx, p.userId, body);
  }

  @Delete('users/:userId')
  @HttpCode(204)
  @Can('delete', 'User')
  @ApiNoContentResponse()
  removeUser(@Ctx() ctx: RequestContext, @Param() p: UserParams): Promise<void> {
    return this.members.remove(ctx, p.userId);
  }

  @Post('users/:userId/revoke-sessions')
  @HttpCode(204)
  @Can('revoke_sessions', 'User')
  @ApiNoContentResponse()
  revokeSessions(@Ctx() ctx: RequestContext, @Param() p: UserParams): Promise<void> {
    return this.members.revokeSessions(ctx, p.userId);
  }
}

/** Accepting an invitation: anyone holding its token. */
@ApiTags('auth')
@WithoutPolicy('the invitation token is the credential; the sign-in rate limits apply')
@Controller('v1/auth/invitations')
export class InvitationAcceptController {
  constructor(private readonly invitations: Invitations) {}

  @Post('accept')
  @HttpCode(200)
  @ApiOkResponse({ type: SignInStepDto })
  accept(@Ctx() ctx: RequestContext, @Body() body: AcceptInvitationDto): Promise<SignInStepDto> {
    return this.invitations.accept(ctx, body.token, body.name, body.password);
  }
}
