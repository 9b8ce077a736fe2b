import { Module } from '@nestjs/common';
import { AuthModule } from '@forecourt/auth';
import { InventoryModule } from '@forecourt/inventory';
import { Bookings } from './bookings.service';
import { ConsentLedger } from './consent-ledger.service';
import { BookingsController, MessagesController } from './conversations.controller';
import { Conversations } from './conversations.service';
import { CustomersController } from './customers.controller';
import { Customers } from './customers.service';
import { DealsController } from './deals.controller';
import { Deals } from './deals.service';
import { LeadsController } from './leads.controller';
import { Leads } from './leads.service';

/** The sales floor: customers and their consent, leads with their messages and bookings, deals. */
@Module({
  imports: [AuthModule, InventoryModule],
  controllers: [
    CustomersController,
    LeadsController,
    MessagesController,
    BookingsController,
    DealsController,
  ],
  providers: [Customers, ConsentLedger, Leads, Conversations, Bookings, Deals],
  exports: [Customers],
})
export class LeadsModule {}
