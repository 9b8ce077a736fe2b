import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runningServer } from './embedded-cluster';

/** A `postmaster.pid` naming `pid`, as PostgreSQL writes it (pid, directory, start time, port). */
function pidFile(directory: string, pid: number): void {
  writeFileSync(join(directory, 'postmaster.pid'), `${pid}\n${directory}\n1700000000\n5432\n`);
}

describe('runningServer: the server a postmaster.pid names, only when it is really ours', () => {
  let directory: string;
  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'forecourt-pidfile-'));
  });
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  it('is null when the pid now belongs to another program', () => {
    pidFile(directory, process.pid);
    expect(runningServer(directory)).toBeNull();
  });

  it('is null when the pid belongs to another PostgreSQL, not started on this directory', async () => {
    // A process whose command line says "postgres" but names another data directory.
    const other = spawn(process.execPath, [
      '-e',
      'setTimeout(() => {}, 10000)',
      'postgres',
      '-D',
      '/elsewhere/pg',
    ]);
    try {
      await new Promise((resolve) => other.once('spawn', resolve));
      pidFile(directory, other.pid!);
      expect(runningServer(directory)).toBeNull();
    } finally {
      other.kill();
    }
  });

  it('is the server started on this directory', async () => {
    const ours = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)', 'postgres', '-D', directory]);
    try {
      await new Promise((resolve) => ours.once('spawn', resolve));
      pidFile(directory, ours.pid!);
      expect(runningServer(directory)).toEqual({ pid: ours.pid, port: 5432 });
    } finally {
      ours.kill();
    }
  });

  it('is null without a pid file, or with a pid that is gone', () => {
    expect(runningServer(directory)).toBeNull();
    pidFile(directory, 2 ** 22 + 12345);
    expect(runningServer(directory)).toBeNull();
  });
});
