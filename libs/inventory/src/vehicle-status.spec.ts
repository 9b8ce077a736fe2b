import { allowedNext, canMove, VEHICLE_STATUSES, type VehicleStatus } from './vehicle-status';

describe('vehicle status transitions', () => {
  const allowed: [VehicleStatus, VehicleStatus][] = [
    ['in_stock', 'reserved'],
    ['in_stock', 'sold'],
    ['reserved', 'in_stock'],
    ['reserved', 'sold'],
  ];

  it('allows exactly the listed moves (and staying put)', () => {
    for (const from of VEHICLE_STATUSES) {
      for (const to of VEHICLE_STATUSES) {
        const expected = from === to || allowed.some(([a, b]) => a === from && b === to);
        expect([from, to, canMove(from, to)]).toEqual([from, to, expected]);
      }
    }
  });

  it('lets nothing leave sold', () => {
    expect(allowedNext('sold')).toEqual([]);
  });
});
