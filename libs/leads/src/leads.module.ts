import { Module } from '@nestjs/common';
import { AuthModule } from '@forecourt/auth';
import { ConsentLedger } from './consent-ledger.service';
import { CustomersController } from './customers.controller';
import { Customers } from './customers.service';
import { LeadsController } from './leads.controller';
import { Leads } from './leads.service';

/** The sales floor: customers and their consent, leads (messages, bookings and deals follow). */
@Module({
  imports: [AuthModule],
  controllers: [CustomersController, LeadsController],
  providers: [Customers, ConsentLedger, Leads],
  exports: [Customers],
})
export class LeadsModule {}
