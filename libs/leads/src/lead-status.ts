export const LEAD_STATUSES = ['new', 'contacted', 'appointment', 'negotiating', 'won', 'lost'] as const;
export type LeadStatus = (typeof LEAD_STATUSES)[number];

/** The open stages, in pipeline order; `won` and `lost` end a lead. */
const PIPELINE: readonly LeadStatus[] = ['new', 'contacted', 'appointment', 'negotiating'];

/**
 * Where a lead may go: forward through the pipeline (a stage may be skipped — a customer can buy
 * on the first call), to `won` from any open stage, and to `lost` (with a reason) from any open
 * stage. `won` and `lost` are final: a returning customer is a new lead.
 */
export function canMoveLead(from: LeadStatus, to: LeadStatus): boolean {
  if (from === to) return true;
  const at = PIPELINE.indexOf(from);
  if (at < 0) return false;
  return to === 'won' || to === 'lost' || PIPELINE.indexOf(to) > at;
}
