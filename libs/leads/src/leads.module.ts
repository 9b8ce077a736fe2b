import { Module } from '@nestjs/common';
import { AuthModule } from '@forecourt/auth';
import { InventoryModule } from '@forecourt/inventory';
import { ConsentLedger } from './consent-ledger.service';
import { CustomersController } from './customers.controller';
import { Customers } from './customers.service';
import { DealsController } from './deals.controller';
import { Deals } from './deals.service';
import { LeadsController } from './leads.controller';
import { Leads } from './leads.service';

/** The sales floor: customers and their consent, leads and deals (messages and bookings follow). */
@Module({
  imports: [AuthModule, InventoryModule],
  controllers: [CustomersController, LeadsController, DealsController],
  providers: [Customers, ConsentLedger, Leads, Deals],
  exports: [Customers],
})
export class LeadsModule {}
