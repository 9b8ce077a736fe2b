import { ArgumentMetadata } from '@nestjs/common';
import { createValidationPipe, inputFault, MAX_INPUT_DEPTH } from './validation';

function nested(levels: number): unknown {
  return JSON.parse(`${'['.repeat(levels)}${']'.repeat(levels)}`) as unknown;
}

describe('inputFault', () => {
  it('allows ordinary input, however many values it holds', () => {
    expect(inputFault({ name: 'ok', tags: ['fine', 'toString'], address: { line1: 'x' } })).toBeNull();
    expect(inputFault('01a2c0de-0000-4000-8000-000000000007', 'id')).toBeNull();
    expect(inputFault(nested(MAX_INPUT_DEPTH))).toBeNull();
  });

  it('refuses nesting past the limit, without overflowing the stack on 100 000 levels', () => {
    expect(inputFault(nested(MAX_INPUT_DEPTH + 1))).toMatchObject({ rule: 'maxDepth' });
    expect(inputFault(nested(100_000))).toMatchObject({ rule: 'maxDepth' });
  });

  it('names the first value or key holding U+0000', () => {
    expect(inputFault({ name: 'ok', tags: ['fine', 'nul\u0000byte'] })).toMatchObject({
      field: 'tags.1',
      rule: 'noNulCharacter',
    });
    expect(inputFault({ ['bad\u0000key']: 1 })).toMatchObject({
      field: 'bad\u0000key',
      rule: 'noNulCharacter',
    });
    expect(inputFault('a\u0000b', 'testId')).toMatchObject({ field: 'testId', rule: 'noNulCharacter' });
  });

  // Found by the reliability suite (test/reliability): such a body made class-transformer throw (a 500).
  it('names a key that shadows a member of Object.prototype, at any depth', () => {
    expect(inputFault({ durationMinutes: { toString: 'x', valueOf: 1 } })).toMatchObject({
      field: expect.stringMatching(/^durationMinutes\.(toString|valueOf)$/) as unknown,
      rule: 'reservedKey',
    });
    expect(inputFault([{ ok: 1 }, { hasOwnProperty: true }])).toMatchObject({ field: '1.hasOwnProperty' });
  });
});

describe('the validation pipe', () => {
  const pipe = createValidationPipe();

  it('refuses a body nested past the limit', async () => {
    const body: ArgumentMetadata = { type: 'body', metatype: Object };
    await expect(pipe.transform(nested(MAX_INPUT_DEPTH + 1), body)).rejects.toThrow();
  });

  it("leaves the app's own custom parameters alone (the ability, the request context)", async () => {
    const custom: ArgumentMetadata = { type: 'custom' };
    const ownObject = { rules: nested(MAX_INPUT_DEPTH + 5), valueOf: () => 1 };
    await expect(pipe.transform(ownObject, custom)).resolves.toBe(ownObject);
  });
});
