import { MAX_INPUT_DEPTH, nestingDepth, nulCharacterAt, reservedKeyAt } from './validation';

describe('nestingDepth', () => {
  it('counts levels of objects and arrays; a scalar is 0', () => {
    expect(nestingDepth('x')).toBe(0);
    expect(nestingDepth(null)).toBe(0);
    expect(nestingDepth({ a: 1 })).toBe(1);
    expect(nestingDepth({ a: [{ b: 1 }] })).toBe(3);
  });

  it('measures a value nested 100 000 levels deep without overflowing the stack, stopping past the limit', () => {
    const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`) as unknown;
    expect(nestingDepth(deep)).toBe(MAX_INPUT_DEPTH + 1);
  });
});

describe('nulCharacterAt', () => {
  it('names the first value or key holding U+0000, and null when there is none', () => {
    expect(nulCharacterAt({ name: 'ok', tags: ['fine'] })).toBeNull();
    expect(nulCharacterAt({ name: 'ok', tags: ['fine', 'nul\u0000byte'] })).toBe('tags.1');
    expect(nulCharacterAt({ ['bad\u0000key']: 1 })).toBe('bad\u0000key');
    expect(nulCharacterAt('a\u0000b', 'testId')).toBe('testId');
  });
});

describe('reservedKeyAt', () => {
  // Found by the reliability suite (test/reliability): such a body made class-transformer throw (a 500).
  it('names a key that shadows a member of Object.prototype, at any depth', () => {
    expect(reservedKeyAt({ durationMinutes: { toString: 'x', valueOf: 1 } })).toMatch(
      /^durationMinutes\.(toString|valueOf)$/,
    );
    expect(reservedKeyAt([{ ok: 1 }, { hasOwnProperty: true }])).toBe('1.hasOwnProperty');
    expect(reservedKeyAt({ name: 'toString', tags: ['valueOf'] })).toBeNull();
  });
});
