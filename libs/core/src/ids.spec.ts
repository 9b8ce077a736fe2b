import { isUuid, newId } from './ids';

describe('ids', () => {
  it('creates version-7 UUIDs that sort by creation time', async () => {
    const first = newId();
    await new Promise((resolve) => setTimeout(resolve, 2));
    const second = newId();
    expect(first[14]).toBe('7');
    expect(isUuid(first)).toBe(true);
    expect(first < second).toBe(true);
  });

  it.each([['not-a-uuid'], [''], ["00000000-0000-0000-0000-000000000000' or 1=1 --"], [42], [null]])(
    'refuses %p as a UUID',
    (value) => {
      expect(isUuid(value)).toBe(false);
    },
  );
});
