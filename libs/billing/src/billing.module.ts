import { Module } from '@nestjs/common';
import { AuthModule } from '@forecourt/auth';
import { BillingController, PlansController, WebhooksController } from './billing.controller';
import { BillingEvents } from './billing-events';
import { Invoices } from './invoices.service';
import { Plans } from './plans.service';
import { BillingPortal } from './billing-portal.service';
import { stripeClientProvider } from './stripe-client';
import { Subscriptions } from './subscriptions.service';

/** Plans, subscriptions and invoices as the payment providers' verified events report them. */
@Module({
  imports: [AuthModule],
  controllers: [WebhooksController, BillingController, PlansController],
  providers: [BillingEvents, Subscriptions, Invoices, Plans, BillingPortal, stripeClientProvider],
  exports: [BillingEvents],
})
export class BillingModule {}
