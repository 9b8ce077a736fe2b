/** What operators watch about backups: read from the records every instance shares. */
export interface BackupSummary {
  /** When the newest backup that passed its restore test was verified; null: none has. */
  lastVerifiedAt: Date | null;
  /** The newest completed backup: when it finished, its file's size, how long it took. */
  lastCompletedAt: Date | null;
  lastSizeBytes: number | null;
  lastRunSeconds: number | null;
  /** The newest restore test: whether it passed, and how long it took. */
  lastVerifyPassed: boolean | null;
  lastVerifySeconds: number | null;
  /** Whether the newest completed backup's off-site upload succeeded; null without one. */
  lastOffsiteUploaded: boolean | null;
}

/**
 * Backups as readiness and metrics see them. Declared here so that `operations` need not depend
 * on `backup`; the backup library provides it (an API without backups has none).
 */
export abstract class BackupStatus {
  abstract summary(): Promise<BackupSummary>;
}
