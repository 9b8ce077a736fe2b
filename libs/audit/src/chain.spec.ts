import { createHash } from 'node:crypto';
import type { AuditEvent } from './audit-event';
import { canonicalEvent, chainHash, GENESIS_HASH, sealEvents } from './chain';

/** Every field set, so that a field added to AuditEvent must be added here (and to the variants). */
const example: AuditEvent = {
  tenantId: '6f1c2a4e-8b3d-4c5e-9f10-123456789abc',
  id: '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
  at: '2025-03-01T09:30:00.123Z',
  actorId: '1b2c3d4e-5f60-4718-9a2b-3c4d5e6f7081',
  actorRole: 'manager',
  supportGrantId: null,
  action: 'customer.updated',
  subjectType: 'customer',
  subjectId: 'c0ffee00-0000-4000-8000-000000000001',
  subjectIds: ['b', 'a'],
  storeId: null,
  requestId: 'req-42',
  ip: '203.0.113.7',
  userAgent: 'Mozilla/5.0 "Café" \\ €\n\t\u0001',
  outcome: 'allowed',
  reason: null,
  changedFields: ['email', 'phone'],
};

/**
 * The RFC 8785 form of `example` at seq 7, written out by hand: keys sorted by code unit, no
 * whitespace, non-ASCII as is, control characters escaped (lower-case \u00XX for the rest).
 */
const EXPECTED_CANONICAL = String.raw`{"action":"customer.updated","actorId":"1b2c3d4e-5f60-4718-9a2b-3c4d5e6f7081","actorRole":"manager","at":"2025-03-01T09:30:00.123Z","changedFields":["email","phone"],"id":"0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b","ip":"203.0.113.7","outcome":"allowed","reason":null,"requestId":"req-42","seq":7,"storeId":null,"subjectId":"c0ffee00-0000-4000-8000-000000000001","subjectIds":["b","a"],"subjectType":"customer","supportGrantId":null,"tenantId":"6f1c2a4e-8b3d-4c5e-9f10-123456789abc","userAgent":"Mozilla/5.0 \"Café\" \\ €\n\t\u0001"}`;

const PREV = 'ab'.repeat(32);
/** SHA-256(0xab × 32 ‖ EXPECTED_CANONICAL), computed outside Node (Python hashlib). */
const EXPECTED_HASH = '1106bca669a8b92d62081c9a7f7ae07c32a4dd799d5818aff470751bb82ef028';

/** The chain hash by its definition, without the library. */
const sha256 = (prevHash: string, text: string) =>
  createHash('sha256')
    .update(Buffer.concat([Buffer.from(prevHash, 'hex'), Buffer.from(text, 'utf8')]))
    .digest('hex');

describe('canonicalEvent', () => {
  it('is the RFC 8785 encoding of the event and its seq', () => {
    expect(canonicalEvent(example, 7)).toBe(EXPECTED_CANONICAL);
  });

  it('does not depend on the order of the keys', () => {
    const reversed = Object.fromEntries(Object.entries(example).reverse()) as unknown as AuditEvent;
    expect(Object.keys(reversed)[0]).toBe('changedFields');
    expect(canonicalEvent(reversed, 7)).toBe(EXPECTED_CANONICAL);
    expect(chainHash(PREV, reversed, 7)).toBe(EXPECTED_HASH);
  });

  it('takes seq from its argument and ignores the chain fields of a sealed event', () => {
    const sealed = { ...example, seq: 99, prevHash: 'cd'.repeat(32), hash: 'ef'.repeat(32) };
    expect(canonicalEvent(sealed, 7)).toBe(EXPECTED_CANONICAL);
  });

  it('keeps the order inside lists', () => {
    expect(canonicalEvent({ ...example, subjectIds: ['a', 'b'] }, 7)).not.toBe(EXPECTED_CANONICAL);
  });
});

describe('chainHash', () => {
  it('is SHA-256 over the previous hash as bytes followed by the canonical event', () => {
    expect(sha256(PREV, EXPECTED_CANONICAL)).toBe(EXPECTED_HASH);
    expect(chainHash(PREV, example, 7)).toBe(EXPECTED_HASH);
  });

  it('hashes the previous hash as 32 bytes, not as its hex text', () => {
    const overHexText = createHash('sha256')
      .update(PREV + EXPECTED_CANONICAL, 'utf8')
      .digest('hex');
    expect(chainHash(PREV, example, 7)).not.toBe(overHexText);
  });

  it('changes with the previous hash and with seq', () => {
    expect(chainHash(GENESIS_HASH, example, 7)).not.toBe(EXPECTED_HASH);
    expect(chainHash(PREV, example, 8)).not.toBe(EXPECTED_HASH);
  });

  /** Other values for each field; typed so that a new field of AuditEvent cannot be left out. */
  const variants: { [K in keyof AuditEvent]-?: AuditEvent[K][] } = {
    tenantId: ['6f1c2a4e-8b3d-4c5e-9f10-123456789abd', ''],
    id: ['0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c'],
    at: ['2025-03-01T09:30:00.124Z', '2025-03-01T09:30:00.123+00:00'],
    actorId: [null, '1b2c3d4e-5f60-4718-9a2b-3c4d5e6f7082'],
    actorRole: ['owner', 'Manager', ''],
    supportGrantId: ['5a5a5a5a-0000-4000-8000-000000000000', ''],
    action: ['customer.read', 'customer.updated '],
    subjectType: ['vehicle'],
    subjectId: [null, 'c0ffee00-0000-4000-8000-000000000002'],
    subjectIds: [null, [], ['a', 'b'], ['b'], ['b', 'a', 'c']],
    storeId: ['5707e000-0000-4000-8000-000000000000', ''],
    requestId: [null, 'req-43'],
    ip: [null, '203.0.113.8', '::ffff:203.0.113.7'],
    userAgent: [null, 'Mozilla/5.0 "Cafe" \\ €\n\t\u0001', 'Mozilla/5.0 "Café" \\ €\n\t'],
    outcome: ['denied'],
    reason: ['not_found', ''],
    changedFields: [null, [], ['email'], ['phone', 'email']],
  };
  const fieldChanges = (Object.keys(example) as (keyof AuditEvent)[]).flatMap((field) =>
    variants[field].map((value) => [field, JSON.stringify(value), value] as const),
  );

  it('has a variant for every field of the event', () => {
    expect(Object.keys(variants).sort()).toEqual(Object.keys(example).sort());
    expect(Object.keys(example)).toHaveLength(17);
  });

  it.each(fieldChanges)('changes when %s becomes %s', (field, _shown, value) => {
    const changed: AuditEvent = { ...example, [field]: value };
    expect(changed[field]).not.toEqual(example[field]);
    expect(chainHash(PREV, changed, 7)).not.toBe(EXPECTED_HASH);
  });
});

describe('sealEvents', () => {
  const events: AuditEvent[] = [1, 2, 3, 4].map((n) => ({
    ...example,
    id: `0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5${n}`,
  }));

  it('starts a new chain at 1 from the genesis hash', () => {
    expect(GENESIS_HASH).toBe('0'.repeat(64));
    const sealed = sealEvents({ seq: 0, hash: GENESIS_HASH }, events);
    expect(sealed.map((event) => event.seq)).toEqual([1, 2, 3, 4]);
    expect(sealed[0]!.prevHash).toBe(GENESIS_HASH);
    expect(sealed[0]!.hash).toBe(sha256(GENESIS_HASH, canonicalEvent(events[0]!, 1)));
  });

  it('numbers from head.seq + 1 and links each event to the one before', () => {
    const head = { seq: 41, hash: PREV };
    const sealed = sealEvents(head, events);
    expect(sealed.map((event) => event.seq)).toEqual([42, 43, 44, 45]);
    let prev = head.hash;
    sealed.forEach((event, i) => {
      expect(event.prevHash).toBe(prev);
      expect(event.hash).toBe(sha256(prev, canonicalEvent(events[i]!, 42 + i)));
      expect(event).toMatchObject(events[i]!);
      prev = event.hash;
    });
    expect(new Set(sealed.map((event) => event.hash)).size).toBe(4);
  });

  it('leaves its input alone and seals nothing from nothing', () => {
    const before = JSON.stringify(events);
    sealEvents({ seq: 3, hash: PREV }, events);
    expect(JSON.stringify(events)).toBe(before);
    expect(sealEvents({ seq: 3, hash: PREV }, [])).toEqual([]);
  });
});
