/** How far a backup or a restore has come: tables finished of all, bytes of table data so far. */
export interface BackupProgress {
  table: string;
  tablesDone: number;
  tablesTotal: number;
  bytes: number;
  /** This event finishes `table`. */
  tableDone: boolean;
}

export type OnProgress = (progress: BackupProgress) => void;

/** The stages of a run that report progress. */
export type BackupStage = 'backup' | 'restore test' | 'restore';

/** Counts a table's COPY text as it streams past, reporting each piece. */
export async function* counted(
  source: AsyncIterable<Buffer>,
  onBytes: (bytes: number) => void,
): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    onBytes(chunk.length);
    yield chunk;
  }
}

/**
 * Progress on `out` (stderr): on a terminal, one line redrawn at most every 100 ms — tables done,
 * MiB, MiB/s; otherwise a plain line per finished table, for logs. `finish()` ends the line.
 */
export function progressReporter(
  stage: BackupStage,
  out: { isTTY?: boolean; write(text: string): unknown },
  now: () => number = () => performance.now(),
): { onProgress: OnProgress; finish(): void } {
  const started = now();
  let drawn = 0;
  let last: BackupProgress | null = null;
  const describe = (progress: BackupProgress) => {
    const mib = progress.bytes / 1_048_576;
    const seconds = Math.max((now() - started) / 1000, 0.001);
    return `${stage}: ${progress.tablesDone}/${progress.tablesTotal} tables, ${mib.toFixed(1)} MiB, ${(mib / seconds).toFixed(1)} MiB/s`;
  };
  return {
    onProgress: (progress) => {
      last = progress;
      if (!out.isTTY) {
        if (progress.tableDone) out.write(`${describe(progress)} (${progress.table} done)\n`);
        return;
      }
      if (!progress.tableDone && now() - drawn < 100) return;
      drawn = now();
      out.write(`\r\x1b[K${describe(progress)}`);
    },
    finish: () => {
      if (out.isTTY && last) out.write(`\r\x1b[K${describe(last)}\n`);
    },
  };
}
