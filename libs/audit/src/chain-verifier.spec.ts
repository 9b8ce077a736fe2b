import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { AuditEvent, SealedAuditEvent } from './audit-event';
import { GENESIS_HASH, sealEvents } from './chain';
import { ChainVerifier, type VerifyReport } from './chain-verifier';
import { keyHash, signCheckpoint } from './checkpoint-note';

const TENANT = '6f1c2a4e-8b3d-4c5e-9f10-123456789abc';
const OTHER_TENANT = '0a0b0c0d-1111-4222-8333-444455556666';
const SIGNED_AT = new Date('2025-03-02T00:00:00.000Z');

const signer = generateKeyPairSync('ed25519');
const stranger = generateKeyPairSync('ed25519');
const keysOf = (...keys: KeyObject[]) => new Map(keys.map((key) => [keyHash(key).toString('hex'), key]));
const trusted = keysOf(signer.publicKey);

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

function eventsOf(tenantId: string, count: number): AuditEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    tenantId,
    id: `0193a1b2-c3d4-7e5f-8a9b-${hex(i + 1, 12)}`,
    at: new Date(Date.UTC(2025, 2, 1, 9, 0, i)).toISOString(),
    actorId: i % 3 === 0 ? null : `1b2c3d4e-5f60-4718-9a2b-${hex(i % 7, 12)}`,
    actorRole: i % 3 === 0 ? 'system' : 'manager',
    supportGrantId: null,
    action: i % 2 === 0 ? 'customer.read' : 'customer.updated',
    subjectType: 'customer',
    subjectId: `c0ffee00-0000-4000-8000-${hex(i, 12)}`,
    subjectIds:
      i % 5 === 0 ? [`c0ffee00-0000-4000-8000-${hex(i, 12)}`, 'c0ffee00-0000-4000-8000-ffffffffffff'] : null,
    storeId: i % 4 === 0 ? null : '5707e000-0000-4000-8000-000000000001',
    requestId: `req-${i}`,
    ip: '203.0.113.7',
    userAgent: 'Mozilla/5.0',
    outcome: i % 9 === 0 ? 'denied' : 'allowed',
    reason: i % 9 === 0 ? 'forbidden' : null,
    changedFields: i % 2 === 1 ? ['email', 'phone'] : null,
  }));
}

const genesis = { seq: 0, hash: GENESIS_HASH };
const chain: readonly SealedAuditEvent[] = sealEvents(genesis, eventsOf(TENANT, 50));

const noteAt = (seq: number, options: { hash?: string; tenantId?: string; key?: typeof signer } = {}) => {
  const key = options.key ?? signer;
  const head = { tenantId: options.tenantId ?? TENANT, seq, hash: options.hash ?? chain[seq - 1]!.hash };
  return signCheckpoint(key.privateKey, key.publicKey, head, SIGNED_AT).note;
};
const NOTES = [10, 20, 30, 40, 50].map((seq) => noteAt(seq));
const NOTES_BEFORE_46 = [10, 20, 30, 40].map((seq) => noteAt(seq));

/** Streams `events` as an export or a database read would: stops at the first refusal. */
function verifyChain(
  events: readonly SealedAuditEvent[],
  options: {
    notes?: readonly string[];
    keys?: ReadonlyMap<string, KeyObject>;
    head?: number;
    tenantId?: string;
  } = {},
): VerifyReport {
  const verifier = new ChainVerifier(
    options.tenantId ?? TENANT,
    options.notes ?? NOTES,
    options.keys ?? trusted,
    options.head === undefined ? null : headAt(options.head),
  );
  for (const event of events) if (!verifier.add(event)) break;
  return verifier.finish();
}

/** The head the database records after `seq` events of `chain`. */
const headAt = (seq: number) => ({ seq, hash: chain[seq - 1]!.hash });

const replaced = (seq: number, change: Partial<SealedAuditEvent>) =>
  chain.map((event) => (event.seq === seq ? { ...event, ...change } : event));

const brokenAt = (seq: number) => ({
  ok: false,
  firstInvalidSeq: seq,
  verifiedThroughSeq: seq - 1,
  reason: expect.any(String) as unknown,
});

describe('ChainVerifier', () => {
  it('passes an intact chain with its checkpoints', () => {
    expect(verifyChain(chain)).toEqual<VerifyReport>({
      ok: true,
      verifiedThroughSeq: 50,
      firstInvalidSeq: null,
      reason: null,
      checkpointsChecked: 5,
    });
  });

  it('passes an intact chain without checkpoints, with duplicated notes and with its recorded head', () => {
    expect(verifyChain(chain, { notes: [] })).toMatchObject({
      ok: true,
      verifiedThroughSeq: 50,
      checkpointsChecked: 0,
    });
    expect(verifyChain(chain, { notes: [...NOTES, ...NOTES] })).toMatchObject({
      ok: true,
      checkpointsChecked: 5,
    });
    expect(verifyChain(chain, { head: 50 })).toMatchObject({ ok: true, verifiedThroughSeq: 50 });
  });

  it('passes an empty chain with nothing to hold it to', () => {
    expect(verifyChain([], { notes: [] })).toMatchObject({
      ok: true,
      verifiedThroughSeq: 0,
      firstInvalidSeq: null,
    });
  });

  /** Another value for every field of event 17 (typed, so that a new field cannot be left out). */
  const changes: { [K in keyof SealedAuditEvent]-?: SealedAuditEvent[K] } = {
    tenantId: OTHER_TENANT,
    id: '0193a1b2-c3d4-7e5f-8a9b-ffffffffffff',
    at: '2025-03-01T09:00:16.001Z',
    actorId: '1b2c3d4e-5f60-4718-9a2b-ffffffffffff',
    actorRole: 'owner',
    supportGrantId: '5a5a5a5a-0000-4000-8000-000000000000',
    action: 'customer.deleted',
    subjectType: 'vehicle',
    subjectId: null,
    subjectIds: ['c0ffee00-0000-4000-8000-000000000010'],
    storeId: '5707e000-0000-4000-8000-000000000002',
    requestId: 'req-other',
    ip: '198.51.100.1',
    userAgent: null,
    outcome: 'denied',
    reason: 'forbidden',
    changedFields: ['phone', 'email'],
    seq: 18,
    prevHash: chain[14]!.hash,
    hash: chain[17]!.hash,
  };

  it.each(Object.keys(changes) as (keyof SealedAuditEvent)[])('finds event 17 with a changed %s', (field) => {
    expect(chain[16]![field]).not.toEqual(changes[field]);
    expect(verifyChain(replaced(17, { [field]: changes[field] }))).toMatchObject(brokenAt(17));
  });

  it('finds event 17 changed even without checkpoints, and without stopping at the first refusal', () => {
    expect(verifyChain(replaced(17, { reason: 'edited' }), { notes: [] })).toMatchObject(brokenAt(17));
    const verifier = new ChainVerifier(TENANT, NOTES, trusted, headAt(50));
    const results = replaced(17, { reason: 'edited' }).map((event) => verifier.add(event));
    expect(results.indexOf(false)).toBe(16);
    expect(results.slice(16).every((result) => !result)).toBe(true);
    expect(verifier.finish()).toMatchObject(brokenAt(17));
  });

  it('finds a changed event whose hash was recomputed at the next link', () => {
    const [rehashed] = sealEvents({ seq: 16, hash: chain[15]!.hash }, [{ ...chain[16]!, reason: 'edited' }]);
    expect(rehashed!.hash).not.toBe(chain[16]!.hash);
    expect(verifyChain(replaced(17, rehashed!), { notes: [] })).toMatchObject(brokenAt(18));
  });

  it('finds a chain rewritten and re-sealed from event 17 on at the next signed checkpoint', () => {
    const rewritten = [
      ...chain.slice(0, 16),
      ...sealEvents(
        { seq: 16, hash: chain[15]!.hash },
        chain.slice(16).map((event) => (event.seq === 17 ? { ...event, reason: 'edited' } : event)),
      ),
    ];
    expect(rewritten).toHaveLength(50);
    expect(verifyChain(rewritten)).toMatchObject({
      ...brokenAt(20),
      reason: expect.stringContaining('checkpoint') as unknown,
    });
    // With no signed checkpoint, a consistent rewrite cannot be told from the original.
    expect(verifyChain(rewritten, { notes: [] })).toMatchObject({ ok: true, verifiedThroughSeq: 50 });
  });

  it('finds deleted event 23', () => {
    const report = verifyChain(chain.filter((event) => event.seq !== 23));
    expect(report).toMatchObject(brokenAt(23));
    expect(report.reason).toContain('missing');
  });

  it('finds events 30 and 31 swapped, with their seq numbers', () => {
    const swapped = chain.map((event) =>
      event.seq === 30 ? { ...chain[30]!, seq: 30 } : event.seq === 31 ? { ...chain[29]!, seq: 31 } : event,
    );
    expect(swapped.map((event) => event.seq)).toEqual(chain.map((event) => event.seq));
    expect(verifyChain(swapped)).toMatchObject(brokenAt(30));
    expect(verifyChain(swapped, { notes: [] })).toMatchObject(brokenAt(30));
  });

  it('finds events 30 and 31 swapped, keeping their seq numbers', () => {
    const swapped = chain.map((event) =>
      event.seq === 30 ? chain[30]! : event.seq === 31 ? chain[29]! : event,
    );
    expect(verifyChain(swapped)).toMatchObject(brokenAt(30));
  });

  it('finds a replayed event', () => {
    const replayed = [...chain.slice(0, 12), chain[11]!, ...chain.slice(12)];
    expect(verifyChain(replayed)).toMatchObject(brokenAt(13));
  });

  describe('the last 5 events deleted', () => {
    const truncated = chain.slice(0, 45);

    it('are found by the signed checkpoint at 50', () => {
      const report = verifyChain(truncated);
      expect(report).toMatchObject(brokenAt(46));
      expect(report.ok).toBe(false);
    });

    it('are found by the recorded head at 50, without a checkpoint after them', () => {
      expect(verifyChain(truncated, { notes: NOTES_BEFORE_46, head: 50 })).toMatchObject(brokenAt(46));
      expect(verifyChain(truncated, { notes: [], head: 50 })).toMatchObject(brokenAt(46));
    });

    it('pass unnoticed with neither a checkpoint nor a recorded head after them (the case checkpoints exist for)', () => {
      expect(verifyChain(truncated, { notes: NOTES_BEFORE_46 })).toMatchObject({
        ok: true,
        verifiedThroughSeq: 45,
        firstInvalidSeq: null,
        checkpointsChecked: 4,
      });
    });
  });

  it('finds every event deleted under a checkpoint', () => {
    expect(verifyChain([], { notes: [noteAt(10)] })).toMatchObject(brokenAt(1));
    expect(verifyChain([], { notes: [], head: 3 })).toMatchObject(brokenAt(1));
  });

  it('holds the chain to the recorded head: its hash as well as its length', () => {
    expect(verifyChain(chain, { notes: [], head: 50 })).toMatchObject({ ok: true, verifiedThroughSeq: 50 });
    const rewritten = sealEvents(
      genesis,
      eventsOf(TENANT, 50).map((event, index) => (index === 49 ? { ...event, reason: 're-sealed' } : event)),
    );
    expect(verifyChain(rewritten, { notes: [], head: 50 })).toMatchObject(brokenAt(50));
  });

  it('refuses a checkpoint signed by a key it does not trust', () => {
    const foreign = noteAt(30, { key: stranger });
    expect(verifyChain(chain, { notes: [foreign] })).toMatchObject({ ok: false, firstInvalidSeq: 30 });
    expect(verifyChain(chain, { notes: [...NOTES, foreign] })).toMatchObject({
      ok: false,
      firstInvalidSeq: 30,
    });
    // The same notes pass once their key is trusted.
    expect(
      verifyChain(chain, { notes: [...NOTES, foreign], keys: keysOf(signer.publicKey, stranger.publicKey) }),
    ).toMatchObject({ ok: true, checkpointsChecked: 5 });
    expect(verifyChain(chain, { keys: keysOf(stranger.publicKey) })).toMatchObject({
      ok: false,
      firstInvalidSeq: 10,
    });
  });

  it('refuses a tampered or truncated checkpoint note', () => {
    const tampered = NOTES[1]!.replace('\n20\n', '\n21\n');
    expect(verifyChain(chain, { notes: [tampered] })).toMatchObject({ ok: false, firstInvalidSeq: 21 });
    expect(verifyChain(chain, { notes: [NOTES[0]!.slice(0, 40)] })).toMatchObject({ ok: false });
  });

  it('finds the chain at odds with a checkpoint at that checkpoint', () => {
    const wrong = noteAt(20, { hash: chain[20]!.hash });
    expect(verifyChain(chain, { notes: [...NOTES, wrong] })).toMatchObject(brokenAt(20));
    expect(verifyChain(chain, { notes: [wrong] })).toMatchObject(brokenAt(20));
    expect(verifyChain(chain, { notes: [noteAt(37, { hash: 'ab'.repeat(32) })] })).toMatchObject(
      brokenAt(37),
    );
  });

  it("refuses another tenant's checkpoint, though validly signed", () => {
    const theirs = noteAt(20, { tenantId: OTHER_TENANT });
    expect(verifyChain(chain, { notes: [...NOTES, theirs] })).toMatchObject({
      ok: false,
      firstInvalidSeq: 20,
    });
  });

  it("finds an event of another tenant's chain", () => {
    const theirs = sealEvents(genesis, eventsOf(OTHER_TENANT, 50));
    const spliced = chain.map((event) => (event.seq === 12 ? theirs[11]! : event));
    const report = verifyChain(spliced, { notes: [] });
    expect(report).toMatchObject(brokenAt(12));
    expect(report.reason).toContain('another chain');
    // A whole, intact chain of another tenant is not this tenant's chain.
    expect(verifyChain(theirs, { notes: [] })).toMatchObject(brokenAt(1));
    expect(verifyChain(theirs, { notes: [], tenantId: OTHER_TENANT })).toMatchObject({ ok: true });
  });

  it('reports the first of several breaks', () => {
    const broken = replaced(40, { reason: 'edited' }).filter((event) => event.seq !== 23);
    expect(verifyChain(broken)).toMatchObject(brokenAt(23));
  });
});
