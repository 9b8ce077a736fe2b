import { canMoveLead, LEAD_STATUSES } from './lead-status';

describe('lead status pipeline', () => {
  const allowed = new Set([
    'new>contacted',
    'new>appointment',
    'new>negotiating',
    'new>won',
    'new>lost',
    'contacted>appointment',
    'contacted>negotiating',
    'contacted>won',
    'contacted>lost',
    'appointment>negotiating',
    'appointment>won',
    'appointment>lost',
    'negotiating>won',
    'negotiating>lost',
  ]);

  it('moves forward, to won or lost from any open stage, never back, never out of won or lost', () => {
    for (const from of LEAD_STATUSES) {
      for (const to of LEAD_STATUSES) {
        const expected = from === to || allowed.has(`${from}>${to}`);
        expect([from, to, canMoveLead(from, to)]).toEqual([from, to, expected]);
      }
    }
  });
});
