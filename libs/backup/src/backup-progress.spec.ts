import { type BackupProgress, counted, progressReporter } from './backup-progress';

/** A stream that keeps what is written, as a terminal or not. */
function output(isTTY: boolean) {
  const written: string[] = [];
  return { isTTY, write: (text: string) => written.push(text), written };
}

const event = (overrides: Partial<BackupProgress>): BackupProgress => ({
  table: 'customers',
  tablesDone: 0,
  tablesTotal: 4,
  bytes: 0,
  tableDone: false,
  ...overrides,
});

describe('progressReporter', () => {
  it('off a terminal: one plain line per finished table, with tables, MiB and rate', () => {
    let clock = 0;
    const out = output(false);
    const reporter = progressReporter('backup', out, () => clock);
    clock = 500;
    reporter.onProgress(event({ bytes: 1_048_576 }));
    clock = 1000;
    reporter.onProgress(event({ bytes: 2 * 1_048_576, tablesDone: 1, tableDone: true }));
    reporter.finish();
    expect(out.written).toEqual(['backup: 1/4 tables, 2.0 MiB, 2.0 MiB/s (customers done)\n']);
  });

  it('on a terminal: one line redrawn in place, at most every 100 ms, ended by finish', () => {
    let clock = 0;
    const out = output(true);
    const reporter = progressReporter('restore test', out, () => clock);
    clock = 150;
    reporter.onProgress(event({ bytes: 1_048_576 }));
    clock = 200;
    reporter.onProgress(event({ bytes: 1_572_864 })); // within 100 ms of the last: not drawn
    clock = 2000;
    reporter.onProgress(event({ bytes: 4 * 1_048_576, tablesDone: 4, table: 'leads', tableDone: true }));
    reporter.finish();
    expect(out.written).toEqual([
      '\r\x1b[Krestore test: 0/4 tables, 1.0 MiB, 6.7 MiB/s',
      '\r\x1b[Krestore test: 4/4 tables, 4.0 MiB, 2.0 MiB/s',
      '\r\x1b[Krestore test: 4/4 tables, 4.0 MiB, 2.0 MiB/s\n',
    ]);
  });

  it('draws nothing and ends no line when nothing happened', () => {
    const out = output(true);
    progressReporter('backup', out).finish();
    expect(out.written).toEqual([]);
  });
});

describe('counted', () => {
  it('passes every piece through unchanged and reports its length', async () => {
    const seen: number[] = [];
    const pieces: Buffer[] = [];
    for await (const piece of counted(
      [Buffer.from('ab'), Buffer.from('cde')] as unknown as AsyncIterable<Buffer>,
      (length) => seen.push(length),
    ))
      pieces.push(piece);
    expect(Buffer.concat(pieces).toString()).toBe('abcde');
    expect(seen).toEqual([2, 3]);
  });
});
