export const DEAL_STATUSES = ['draft', 'signed', 'delivered', 'cancelled'] as const;
export type DealStatus = (typeof DEAL_STATUSES)[number];

/** A draft is signed or dropped; a signed deal is delivered or cancelled; then it is over. */
const NEXT: Record<DealStatus, readonly DealStatus[]> = {
  draft: ['signed', 'cancelled'],
  signed: ['delivered', 'cancelled'],
  delivered: [],
  cancelled: [],
};

export function canMoveDeal(from: DealStatus, to: DealStatus): boolean {
  return from === to || NEXT[from].includes(to);
}
