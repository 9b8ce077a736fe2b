import { BackupStatus, type BackupSummary } from '@forecourt/core';
import { Gauge, type Registry } from 'prom-client';

/** The gauges, each read from the backups' summary at scrape time (unset while there is no value). */
const GAUGES: { name: string; help: string; value: (summary: BackupSummary) => number | null }[] = [
  {
    name: 'forecourt_backup_last_verified_timestamp_seconds',
    help: 'When the newest backup that passed its restore test was verified (Unix time)',
    value: (summary) => seconds(summary.lastVerifiedAt),
  },
  {
    name: 'forecourt_backup_last_completed_timestamp_seconds',
    help: 'When the newest completed backup finished (Unix time)',
    value: (summary) => seconds(summary.lastCompletedAt),
  },
  {
    name: 'forecourt_backup_last_size_bytes',
    help: 'Size of the newest completed backup file (compressed and encrypted)',
    value: (summary) => summary.lastSizeBytes,
  },
  {
    name: 'forecourt_backup_last_duration_seconds',
    help: 'How long the newest completed backup took to write',
    value: (summary) => summary.lastRunSeconds,
  },
  {
    name: 'forecourt_backup_last_verify_passed',
    help: 'Whether the newest restore test passed (1) or failed (0)',
    value: (summary) => flag(summary.lastVerifyPassed),
  },
  {
    name: 'forecourt_backup_last_verify_duration_seconds',
    help: 'How long the newest restore test took',
    value: (summary) => summary.lastVerifySeconds,
  },
  {
    name: 'forecourt_backup_last_offsite_uploaded',
    help: 'Whether the newest completed backup reached the off-site bucket (1) or not (0)',
    value: (summary) => flag(summary.lastOffsiteUploaded),
  },
];

const seconds = (at: Date | null) => (at ? at.getTime() / 1000 : null);
const flag = (value: boolean | null) => (value === null ? null : Number(value));

/** Registers the backup gauges in `registry`. */
export function registerBackupMetrics(registry: Registry, status: BackupStatus): void {
  for (const { name, help, value } of GAUGES) {
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        this.reset();
        // A scrape still answers when the records cannot be read: these gauges are then absent.
        const summary = await status.summary().catch(() => null);
        const current = summary ? value(summary) : null;
        if (current !== null) this.set(current);
      },
    });
  }
}
