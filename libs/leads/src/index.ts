export { findsCardNumber } from './card-number';
export {
  openCustomerIdentifiers,
  type OpenedIdentifiers,
  type SealedIdentifiers,
} from './customer-identifiers';
export { LeadsModule } from './leads.module';
export { LeadsError, LeadsErrorCode } from './leads-error';
export { CONSENT_CHANNELS, CONSENT_PURPOSES, CONSENT_STATUSES } from './consent';
// For the plan test (test/service/sales-list-plans.spec.ts): each list's statement as the API sends it.
export { bookingListQuery } from './bookings.service';
export { customerListQuery } from './customers.service';
export { dealListQuery } from './deals.service';
export { leadListQuery } from './leads.service';
