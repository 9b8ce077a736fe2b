import { Controller, Get, Headers, HttpCode, Inject, Post, Req } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Can, Redact, WithoutPolicy } from '@forecourt/authz';
import { APP_CONFIG, type AppConfig } from '@forecourt/config';
import { Ctx, type RequestContext } from '@forecourt/core';
import { Guarded } from '@forecourt/tenants';
import { BillingError, BillingErrorCode } from './billing-error';
import { BillingEvents, type EventOutcome } from './billing-events';
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
  constructor(private readonly subscriptions: Subscriptions) {}

  @Get('subscription')
  @Can('read', 'Subscription')
  @Redact('Subscription')
  @ApiOkResponse({ description: '{provider, status, currentPeriodEnd, cancelAtPeriodEnd, plan}' })
  current(@Ctx() ctx: RequestContext): Promise<SubscriptionDto> {
    return this.subscriptions.current(ctx);
  }
}
