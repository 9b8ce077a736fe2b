import { parse } from 'csv-parse/sync';
import { csvHeaderOf, formatRow } from './export-tables';

describe('formatRow', () => {
  const columns = ['id', 'name', 'notes', 'address', 'active', 'price_minor'];
  const row = {
    id: '0190a0b0-0000-7000-8000-000000000001',
    name: 'Ann "the buyer", Jr.',
    notes: '',
    address: { city: 'Lyon', lines: ['1 rue X'] },
    active: true,
    price_minor: 2_150_000,
    ignored: 'not a column',
  };

  it('writes a JSON line with every value as JSON has it', () => {
    const line = formatRow('jsonl', columns, row);
    expect(line.endsWith('\n')).toBe(true);
    expect(JSON.parse(line)).toEqual(row);
  });

  it('writes a CSV row in column order that reads back: text as itself, other values as JSON', () => {
    const text = csvHeaderOf(columns) + formatRow('csv', columns, row);
    expect(parse(text, { columns: true })).toEqual([
      {
        id: row.id,
        name: row.name,
        notes: '',
        address: '{"city":"Lyon","lines":["1 rue X"]}',
        active: 'true',
        price_minor: '2150000',
      },
    ]);
  });

  it('tells a null (empty cell) from an empty text ("") in CSV, as COPY does', () => {
    expect(formatRow('csv', ['a', 'b'], { a: null, b: '' })).toBe(',""\n');
  });
});

describe('CSV cells', () => {
  it('quote a comma, a quote, a line break and PostgreSQL end-of-data marker, as COPY does', () => {
    expect(
      formatRow('csv', ['a', 'b', 'c', 'd', 'e'], {
        a: 'x,y',
        b: 'say "hi"',
        c: 'two\nlines',
        d: '\\.',
        e: 'plain',
      }),
    ).toBe('"x,y","say ""hi""","two\nlines","\\.",plain\n');
  });
});
