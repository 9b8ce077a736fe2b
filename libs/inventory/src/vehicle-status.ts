export const VEHICLE_STATUSES = ['in_stock', 'reserved', 'sold'] as const;
export type VehicleStatus = (typeof VEHICLE_STATUSES)[number];

/**
 * Where a vehicle may go from each status. A reservation can be released; a sale is final here
 * (an unwound sale is bought back as a new stock entry, which keeps the sold record intact).
 */
const NEXT: Record<VehicleStatus, readonly VehicleStatus[]> = {
  in_stock: ['reserved', 'sold'],
  reserved: ['in_stock', 'sold'],
  sold: [],
};

export function canMove(from: VehicleStatus, to: VehicleStatus): boolean {
  return from === to || NEXT[from].includes(to);
}

export function allowedNext(from: VehicleStatus): readonly VehicleStatus[] {
  return NEXT[from];
}
