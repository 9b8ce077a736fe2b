import { isoTimestampSql } from '@forecourt/database';
export const CONSENT_CHANNELS = ['email', 'sms', 'phone', 'whatsapp'] as const;
export const CONSENT_PURPOSES = ['marketing', 'service'] as const;
export const CONSENT_STATUSES = ['granted', 'withdrawn'] as const;

/**
 * The current consent of a customer, per channel and purpose: the latest event of the ledger
 * (SQL returning `[{channel, purpose, status, at, source}]`, for the customer row aliased `c`).
 * A pair with no event has no entry: nothing was ever granted.
 */
export const CURRENT_CONSENTS = `coalesce((
    select jsonb_agg(jsonb_build_object('channel', l.channel, 'purpose', l.purpose, 'status', l.status,
             'at', ${isoTimestampSql('l.at')}, 'source', l.source)
           order by l.channel, l.purpose)
      from (select distinct on (e.channel, e.purpose) e.channel, e.purpose, e.status, e.at, e.source
              from consent_events e
             where e.tenant_id = c.tenant_id and e.customer_id = c.id
             order by e.channel, e.purpose, e.at desc, e.id desc) l), '[]'::jsonb)`;
