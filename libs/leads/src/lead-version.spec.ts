import { LeadsError } from './leads-error';
import { entityTagOf, versionFromIfMatch } from './lead-version';

describe('If-Match for a lead', () => {
  it('names the version of a strong or weak tag, and nothing for none or *', () => {
    expect(versionFromIfMatch('"3"')).toBe(3);
    expect(versionFromIfMatch(' W/"12" ')).toBe(12);
    expect(versionFromIfMatch(entityTagOf(7))).toBe(7);
    expect(versionFromIfMatch(undefined)).toBeNull();
    expect(versionFromIfMatch('*')).toBeNull();
  });

  it('refuses what it cannot read, rather than ignoring a precondition', () => {
    for (const header of ['3', '"0"', '"abc"', '"1", "2"', '""', '"1234567890"', 'W/3']) {
      expect(() => versionFromIfMatch(header)).toThrow(LeadsError);
    }
  });
});
