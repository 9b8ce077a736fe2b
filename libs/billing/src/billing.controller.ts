import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Inject,
  Param,
  Post,
  Put,
  Query,
  Req,
} from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiExcludeEndpoint, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Can, Redact, WithoutPolicy } from '@forecourt/authz';
import { APP_CONFIG, type AppConfig } from '@forecourt/config';
import { Ctx, DEFAULT_PAGE_SIZE, type Page, type RequestContext } from '@forecourt/core';
import { Guarded, ListQueryDto } from '@forecourt/tenants';
import { BillingError, BillingErrorCode } from './billing-error';
import { BillingPortal } from './billing-portal.service';
import { BillingEvents, type EventOutcome } from './billing-events';
import { CreatePlanDto, PlanDto, PlanInputDto } from './plan.dto';
import { type InvoiceDto, Invoices } from './invoices.service';
import { Plans } from './plans.service';
import { OpenPortalDto, PortalLinkDto } from './portal-session.dto';
import { verifiedRazorpayEvent } from './razorpay-events';
import { verifiedStripeEvent } from './stripe-events';
import { type SubscriptionDto, Subscriptions } from './subscriptions.service';

/** Payment providers' webhooks: the provider's signature over the raw body is the credential. */
@ApiTags('billing')
@Controller('v1/webhooks')
export class WebhooksController {
  constructor(
    private readonly events: BillingEvents,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post('stripe')
  @HttpCode(200)
  @WithoutPolicy('provider webhook: the Stripe signature over the raw body is the credential')
  @ApiExcludeEndpoint()
  async stripe(
    @Req() request: FastifyRequest & { rawBody?: Buffer },
    @Headers('stripe-signature') signature: string | undefined,
  ): Promise<{ received: true; outcome: EventOutcome }> {
    const secret = this.config.stripeWebhookSecret;
    if (!secret)
      throw new BillingError(
        BillingErrorCode.WebhookNotConfigured,
        'Stripe webhooks are not configured here (STRIPE_WEBHOOK_SECRET is unset)',
      );
    if (!request.rawBody)
      throw new BillingError(BillingErrorCode.MalformedEvent, 'The event must be a JSON body');
    const outcome = await this.events.receive(verifiedStripeEvent(request.rawBody, signature, secret));
    return { received: true, outcome };
  }

  @Post('razorpay')
  @HttpCode(200)
  @WithoutPolicy('provider webhook: the Razorpay signature over the raw body is the credential')
  @ApiExcludeEndpoint()
  async razorpay(
    @Req() request: FastifyRequest & { rawBody?: Buffer },
    @Headers('x-razorpay-signature') signature: string | undefined,
    @Headers('x-razorpay-event-id') eventId: string | undefined,
  ): Promise<{ received: true; outcome: EventOutcome }> {
    const secret = this.config.razorpayWebhookSecret;
    if (!secret)
      throw new BillingError(
        BillingErrorCode.WebhookNotConfigured,
        'Razorpay webhooks are not configured here (RAZORPAY_WEBHOOK_SECRET is unset)',
      );
    if (!request.rawBody)
      throw new BillingError(BillingErrorCode.MalformedEvent, 'The event must be a JSON body');
    const event = verifiedRazorpayEvent(request.rawBody, signature, eventId, secret);
    return { received: true, outcome: await this.events.receive(event) };
  }
}

@ApiTags('billing')
@Controller('v1/tenants/:tenantId/billing')
@Guarded()
export class BillingController {
  constructor(
    private readonly subscriptions: Subscriptions,
    private readonly portal: BillingPortal,
    private readonly invoices: Invoices,
  ) {}

  @Get('subscription')
  @Can('read', 'Subscription')
  @Redact('Subscription')
  @ApiOkResponse({ description: '{provider, status, currentPeriodEnd, cancelAtPeriodEnd, plan}' })
  current(@Ctx() ctx: RequestContext): Promise<SubscriptionDto> {
    return this.subscriptions.current(ctx);
  }

  @Get('invoices')
  @Can('read', 'Invoice')
  @Redact('Invoice')
  @ApiOkResponse({
    description: '{data: [{id, amountMinor, currency, status, hostedInvoiceUrl, issuedAt}], nextCursor}',
  })
  invoiceList(@Ctx() ctx: RequestContext, @Query() query: ListQueryDto): Promise<Page<InvoiceDto>> {
    return this.invoices.list(ctx, query.limit ?? DEFAULT_PAGE_SIZE, query.cursor);
  }

  @Post('portal')
  @HttpCode(200)
  @Can('update', 'Subscription')
  @ApiBody({ type: OpenPortalDto, required: false })
  @ApiOkResponse({ type: PortalLinkDto, description: "a link to the provider's hosted billing page" })
  openPortal(@Ctx() ctx: RequestContext, @Body() dto: OpenPortalDto): Promise<PortalLinkDto> {
    return this.portal.open(ctx, dto);
  }
}

/** The platform's price list: the platform owner's to set. */
@ApiTags('platform')
@Controller('v1/platform/plans')
@Guarded()
export class PlansController {
  constructor(private readonly plans: Plans) {}

  @Get()
  @Can('read', 'Plan')
  @ApiOkResponse({ type: [PlanDto] })
  list(): Promise<PlanDto[]> {
    return this.plans.list();
  }

  @Post()
  @Can('create', 'Plan')
  @ApiCreatedResponse({ type: PlanDto })
  create(@Ctx() ctx: RequestContext, @Body() body: CreatePlanDto): Promise<PlanDto> {
    return this.plans.create(ctx, body);
  }

  @Put(':code')
  @Can('update', 'Plan')
  @ApiOkResponse({ type: PlanDto })
  update(
    @Ctx() ctx: RequestContext,
    @Param('code') code: string,
    @Body() body: PlanInputDto,
  ): Promise<PlanDto> {
    return this.plans.update(ctx, code, body);
  }
}
