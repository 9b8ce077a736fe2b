/**
 * BENCH ONLY — preloaded into the API process of `npm run bench:leads` with
 * `NODE_OPTIONS=--require …/leads-profiler.js` (`--cpu-prof` is not allowed there, and would
 * profile the whole life of the process). With LEADS_PROFILE_DIR set, it writes the process id to
 * `<dir>/pid`; the first SIGUSR2 starts the V8 CPU profiler (`node:inspector`, in-process), the
 * second stops it and writes `<dir>/profile.json`, and `<dir>/writes.json`: the socket writes
 * (`Socket#_writeGeneric`, one `write`/`writev` each) made meanwhile, to HTTP clients (sockets
 * of a server) and to everything else (here: PostgreSQL). Nothing else in the process changes.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { Socket } from 'node:net';
import { join } from 'node:path';

/** Sampling interval, µs (V8's default is 1,000). */
const INTERVAL_MICROS = 250;

type WriteGeneric = (this: Socket & { server?: unknown }, ...args: unknown[]) => unknown;

const dir = process.env.LEADS_PROFILE_DIR;
if (dir) {
  writeFileSync(join(dir, 'pid'), String(process.pid));
  const writes = { counting: false, http: 0, other: 0 };
  const sockets = Socket.prototype as unknown as { _writeGeneric: WriteGeneric };
  const writeGeneric = sockets._writeGeneric;
  sockets._writeGeneric = function (this: Socket & { server?: unknown }, ...args: unknown[]) {
    if (writes.counting) {
      if (this.server) writes.http += 1;
      else writes.other += 1;
    }
    return writeGeneric.apply(this, args);
  };
  let session: Session | undefined;
  const fail = (error: Error | null) => {
    if (error) writeFileSync(join(dir, 'error'), String(error.stack ?? error));
  };
  process.on('SIGUSR2', () => {
    if (!session) {
      const started = new Session();
      session = started;
      started.connect();
      started.post('Profiler.enable', (enabled) => {
        fail(enabled);
        started.post('Profiler.setSamplingInterval', { interval: INTERVAL_MICROS }, (set) => {
          fail(set);
          started.post('Profiler.start', (running) => {
            fail(running);
            Object.assign(writes, { counting: true, http: 0, other: 0 });
            writeFileSync(join(dir, 'started'), '');
          });
        });
      });
      return;
    }
    const running = session;
    session = undefined;
    writes.counting = false;
    writeFileSync(join(dir, 'writes.json'), JSON.stringify({ http: writes.http, other: writes.other }));
    running.post('Profiler.stop', (error, result) => {
      fail(error);
      if (result) writeFileSync(join(dir, 'profile.json'), JSON.stringify(result.profile));
      running.disconnect();
    });
  });
}
