import { Body, Controller, Get, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { type AppAbility, Can, CurrentAbility, Redact } from '@forecourt/authz';
import { Ctx, type RequestContext } from '@forecourt/core';
import { Guarded } from '@forecourt/tenants';
import { ConsentLedger } from './consent-ledger.service';
import {
  ConsentEventDto,
  ConsentLedgerDto,
  CreateCustomerDto,
  CustomerDto,
  CustomerPageDto,
  CustomerParams,
  CustomerQueryDto,
  LeadsTenantParams,
  PatchCustomerDto,
  RecordConsentDto,
} from './customer.dto';
import { Customers } from './customers.service';

/** A tenant's customers and their consent, within the caller's stores; PII only where permitted. */
@ApiTags('customers')
@Controller('v1/tenants/:tenantId/customers')
@Guarded()
export class CustomersController {
  constructor(
    private readonly customers: Customers,
    private readonly consents: ConsentLedger,
  ) {}

  @Post()
  @Can('create', 'Customer')
  @Redact('Customer')
  @ApiCreatedResponse({ type: CustomerDto })
  create(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() _p: LeadsTenantParams,
    @Body() body: CreateCustomerDto,
  ): Promise<CustomerDto> {
    return this.customers.create(ctx, ability, body);
  }

  @Get()
  @Can('read', 'Customer')
  @Redact('Customer')
  @ApiOkResponse({ type: CustomerPageDto })
  list(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() _p: LeadsTenantParams,
    @Query() query: CustomerQueryDto,
  ): Promise<CustomerPageDto> {
    return this.customers.list(ctx, ability, query);
  }

  @Get(':customerId')
  @Can('read', 'Customer')
  @Redact('Customer')
  @ApiOkResponse({ type: CustomerDto })
  get(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() params: CustomerParams,
  ): Promise<CustomerDto> {
    return this.customers.get(ctx, ability, params.customerId);
  }

  @Patch(':customerId')
  @Can('update', 'Customer')
  @Redact('Customer')
  @ApiOkResponse({ type: CustomerDto })
  update(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() params: CustomerParams,
    @Body() body: PatchCustomerDto,
  ): Promise<CustomerDto> {
    return this.customers.update(ctx, ability, params.customerId, body);
  }

  @Get(':customerId/consents')
  @Can('read', 'Customer')
  @ApiOkResponse({ type: ConsentLedgerDto })
  consentLedger(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() params: CustomerParams,
  ): Promise<ConsentLedgerDto> {
    return this.consents.ledger(ctx, ability, params.customerId);
  }

  @Post(':customerId/consents')
  @Can('update', 'Customer')
  @ApiCreatedResponse({ type: ConsentEventDto })
  recordConsent(
    @Ctx() ctx: RequestContext,
    @CurrentAbility() ability: AppAbility,
    @Param() params: CustomerParams,
    @Body() body: RecordConsentDto,
  ): Promise<ConsentEventDto> {
    return this.consents.record(ctx, ability, params.customerId, body);
  }
}
