import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { isProcessAlive } from './process-liveness';

/** Thrown when another live process holds the data directory. */
export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holderPid: number,
  ) {
    super(
      `DATA_DIR ${dataDir} is in use by another Forecourt process (pid ${holderPid}); stop it first or set a different DATA_DIR`,
    );
    this.name = 'DataDirInUseError';
  }
}

/**
 * An exclusive, crash-tolerant claim on a data directory: a `forecourt.lock` file holding the
 * owner's pid, created with O_EXCL. A lock whose pid is no longer alive is stale (the previous
 * owner crashed) and is taken over.
 */
export class DataDirLock {
  private constructor(
    private readonly path: string,
    readonly pid: number,
  ) {}

  static acquire(dataDir: string): DataDirLock {
    mkdirSync(dataDir, { recursive: true, mode: 0o755 });
    const path = join(dataDir, 'forecourt.lock');
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        const fd = openSync(path, 'wx', 0o644);
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        return new DataDirLock(path, process.pid);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = DataDirLock.holder(dataDir);
      if (holder !== null && holder !== process.pid && isProcessAlive(holder)) {
        throw new DataDirInUseError(dataDir, holder);
      }
      // Stale: its owner is gone. Remove and retry the exclusive create (another starter may win).
      rmSync(path, { force: true });
    }
    throw new Error(`could not lock DATA_DIR ${dataDir}`);
  }

  /** The pid holding the lock, or null when there is no readable lock. */
  static holder(dataDir: string): number | null {
    try {
      const pid = Number.parseInt(readFileSync(join(dataDir, 'forecourt.lock'), 'utf8'), 10);
      return Number.isInteger(pid) && pid > 0 ? pid : null;
    } catch {
      return null;
    }
  }

  release(): void {
    if (DataDirLock.holder(join(this.path, '..')) === this.pid) rmSync(this.path, { force: true });
  }
}
