import { availableParallelism, cpus, totalmem } from 'node:os';
import { median, medianSample, quantile, Sample } from './measure';

/**
 * One row of the printed table: a load row (one sample per round) or a time in milliseconds.
 * A load row is compared with the baseline rows named in `against` (and with itself, 1.00×, in
 * its own baseline column). With `latencies`, its p50/p99 are those of all its runs pooled.
 */
export type ReportRow =
  | {
      kind: 'load';
      id: string;
      label: string;
      samples: Sample[];
      against?: readonly string[];
      latencies?: readonly number[];
    }
  | { kind: 'time'; id: string; label: string; milliseconds: number };

/** A baseline row, and the title of its ratio column. */
export interface Baseline {
  id: string;
  title: string;
}

export function machine(postgresVersion: string): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const memory = `${(totalmem() / 2 ** 30).toFixed(1)} GiB`;
  return `${availableParallelism()} CPUs (${cpu}), ${memory}, node ${process.version}, PostgreSQL ${postgresVersion}`;
}

/** Half the range of the runs' rates, relative to their median. */
function spread(samples: readonly Sample[], middle: Sample): string {
  const rates = samples.map((sample) => sample.opsPerSecond);
  const half = (Math.max(...rates) - Math.min(...rates)) / 2;
  if (middle.opsPerSecond === 0) return '';
  return `±${((half / middle.opsPerSecond) * 100).toFixed(1)}%`;
}

/**
 * The median over rounds of each round's ratio: a row is compared with the baseline run of the
 * same round, seconds apart, so drift on a shared machine cancels out.
 */
export function roundRatio(samples: readonly Sample[], baseline: readonly Sample[]): number {
  return median(samples.map((sample, round) => sample.opsPerSecond / baseline[round]!.opsPerSecond));
}

/** The titles of the rate and CPU columns, which differ between tables. */
export interface ColumnTitles {
  rate: string;
  cpu: string;
}

/** The table: each load row's median ops/s over its rounds, and its ratios to the baselines. */
export function renderTable(
  rows: ReportRow[],
  baselines: readonly Baseline[],
  titles: ColumnTitles = { rate: 'ops/s (or ms)', cpu: 'API CPU µs/op' },
): string {
  const samplesOf = (id: string) => {
    const row = rows.find((candidate) => candidate.id === id);
    return row?.kind === 'load' ? row.samples : undefined;
  };
  const header = [
    '#',
    'benchmark',
    titles.rate,
    'spread',
    ...baselines.map((baseline) => baseline.title),
    'p50 ms',
    'p99 ms',
    titles.cpu,
  ];
  // A row without latencies (a seal) leaves those cells empty.
  const fixed = (value: number) => (Number.isNaN(value) ? '' : value.toFixed(2));
  const cells = rows.map((row): string[] => {
    if (row.kind === 'time') return [row.id, row.label, row.milliseconds.toFixed(0)];
    const middle = medianSample(row.samples);
    const ratios = baselines.map(({ id }) => {
      const baseline = samplesOf(id);
      if (!baseline || (id !== row.id && !row.against?.includes(id))) return '';
      return `${roundRatio(row.samples, baseline).toFixed(2)}×`;
    });
    const pooled = row.latencies && [...row.latencies].sort((a, b) => a - b);
    return [
      row.id,
      row.label,
      middle.opsPerSecond.toFixed(0),
      spread(row.samples, middle),
      ...ratios,
      fixed(pooled ? quantile(pooled, 0.5) : middle.p50),
      fixed(pooled ? quantile(pooled, 0.99) : middle.p99),
      middle.cpuPerOp !== undefined && Number.isFinite(middle.cpuPerOp) ? middle.cpuPerOp.toFixed(0) : '',
    ];
  });
  return markdownTable(header, cells);
}

/** A Markdown table with padded columns; missing cells are empty. */
export function markdownTable(header: readonly string[], cells: readonly (readonly string[])[]): string {
  const cell = (row: readonly string[], column: number) => row[column] ?? '';
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((row) => cell(row, column).length)),
  );
  const line = (row: readonly string[]) =>
    `| ${widths.map((width, column) => cell(row, column).padEnd(width)).join(' | ')} |`;
  const rule = `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`;
  return [line(header), rule, ...cells.map(line)].join('\n');
}
