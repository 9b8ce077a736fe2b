import { availableParallelism, cpus, totalmem } from 'node:os';
import { median, medianSample, Sample } from './measure';

/** One row of the printed table: a load row (several samples) or a time in milliseconds. */
export type ReportRow =
  | { kind: 'load'; id: string; label: string; samples: Sample[] }
  | { kind: 'time'; id: string; label: string; milliseconds: number };

const HEADER = [
  '#',
  'benchmark',
  'ops/s (or ms)',
  'spread',
  '× database',
  '× HTTP raw',
  'p50 ms',
  'p99 ms',
  'API CPU µs/op',
];

export function machine(postgresVersion: string): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const memory = `${(totalmem() / 2 ** 30).toFixed(1)} GiB`;
  return `${availableParallelism()} CPUs (${cpu}), ${memory}, node ${process.version}, PostgreSQL ${postgresVersion}`;
}

/** Half the range of the runs' rates, relative to their median. */
function spread(samples: readonly Sample[], middle: Sample): string {
  const rates = samples.map((sample) => sample.opsPerSecond);
  const half = (Math.max(...rates) - Math.min(...rates)) / 2;
  return `±${((half / middle.opsPerSecond) * 100).toFixed(1)}%`;
}

/**
 * The median over rounds of each round's ratio: a row is compared with the baseline run of the
 * same round, seconds apart, so drift on a shared machine cancels out.
 */
function ratio(samples: readonly Sample[], baseline: readonly Sample[] | undefined): string {
  if (!baseline) return '';
  const ratios = samples.map((sample, round) => sample.opsPerSecond / baseline[round]!.opsPerSecond);
  return `${median(ratios).toFixed(2)}×`;
}

/**
 * The table: each load row's median ops/s over its rounds, compared with the database baseline
 * (`databaseRow`) and the HTTP baseline (`httpRow`), which are themselves rows of the table.
 */
export function renderTable(rows: ReportRow[], databaseRow: string, httpRow: string): string {
  const samplesOf = (id: string) => {
    const row = rows.find((candidate) => candidate.id === id);
    return row?.kind === 'load' ? row.samples : undefined;
  };
  const database = samplesOf(databaseRow);
  const http = samplesOf(httpRow);
  const cells = rows.map((row): string[] => {
    if (row.kind === 'time') return [row.id, row.label, row.milliseconds.toFixed(0)];
    const middle = medianSample(row.samples);
    return [
      row.id,
      row.label,
      middle.opsPerSecond.toFixed(0),
      spread(row.samples, middle),
      ratio(row.samples, database),
      row.id === databaseRow ? '' : ratio(row.samples, http),
      middle.p50.toFixed(2),
      middle.p99.toFixed(2),
      middle.cpuPerOp?.toFixed(0) ?? '',
    ];
  });
  const cell = (row: string[], column: number) => row[column] ?? '';
  const widths = HEADER.map((title, column) =>
    Math.max(title.length, ...cells.map((row) => cell(row, column).length)),
  );
  const line = (row: string[]) =>
    `| ${widths.map((width, column) => cell(row, column).padEnd(width)).join(' | ')} |`;
  const rule = `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`;
  return [line(HEADER), rule, ...cells.map(line)].join('\n');
}
