export { LeadsModule } from './leads.module';
export { LeadsError, LeadsErrorCode } from './leads-error';
export { CONSENT_CHANNELS, CONSENT_PURPOSES, CONSENT_STATUSES } from './consent';
