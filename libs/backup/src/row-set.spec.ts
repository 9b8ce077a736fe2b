import { RowSet } from './snapshot';

const setOf = (lines: string[]) => {
  const set = new RowSet();
  for (const line of lines) set.add(line);
  return set;
};

describe('RowSet', () => {
  it('is the same for the same rows in any order, read as text or as bytes', () => {
    const rows = ['a\t1\t\\N', 'b\t2\tzwölf', 'c\t3\t\\x00ff'];
    const bytes = new RowSet();
    for (const line of [...rows].reverse()) bytes.add(Buffer.from(line, 'utf8'));
    expect(setOf(rows).digest).toBe(bytes.digest);
    expect(bytes.rows).toBe(3);
  });

  it('differs when a row changes, goes missing or comes twice', () => {
    const rows = ['a\t1', 'b\t2', 'c\t3'];
    const digest = setOf(rows).digest;
    expect(setOf(['a\t1', 'b\t2', 'c\t4']).digest).not.toBe(digest);
    expect(setOf(['a\t1', 'b\t2']).digest).not.toBe(digest);
    expect(setOf([...rows, 'c\t3']).digest).not.toBe(digest);
  });
});
