import { createSecretKey } from 'node:crypto';
import { Client } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { LocalBackups, migrationsUpTo, tablesInLoadOrder } from '@forecourt/backup';
import { KeyWrapper } from '@forecourt/crypto';
import { migrateSchema } from '@forecourt/database';
import { MIGRATIONS } from '../migrations';

/**
 * One measured operation in a process of its own, so that its peak memory is its own:
 * `node dist/bench/backup-worker.js '<json order>'`; prints one JSON result line.
 *
 * - `copy`: every table `COPY … TO STDOUT` in one repeatable-read snapshot, the bytes counted and
 *   dropped — the floor a logical backup cannot beat;
 * - `backup`: `LocalBackups.run`, the real path (snapshot, frames, brotli blocks, sealing, the file);
 * - `restore`: `LocalBackups.restore` into an empty database (migrations, load, read-back check).
 */
interface Order {
  mode: 'copy' | 'backup' | 'restore';
  ownerUrl: string;
  key: string;
  dir: string;
  backupId?: string;
  targetUrl?: string;
}

export interface WorkerResult {
  seconds: number;
  /** Table data (COPY text) handled. */
  dataBytes: number;
  /** The backup file's size (backup only). */
  fileBytes?: number;
  backupId?: string;
  /** Of `seconds`, building the schema (restore only). */
  migrateSeconds?: number;
  maxRssMiB: number;
}

async function plainCopy(ownerUrl: string): Promise<number> {
  const client = new Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    await client.query('begin isolation level repeatable read read only');
    let bytes = 0;
    for (const table of await tablesInLoadOrder(client)) {
      const stream = client.query(copyTo(`copy "${table}" to stdout`)) as AsyncIterable<Buffer>;
      for await (const chunk of stream) bytes += chunk.length;
    }
    await client.query('commit');
    return bytes;
  } finally {
    await client.end();
  }
}

async function main(): Promise<WorkerResult> {
  const order = JSON.parse(process.argv[2]!) as Order;
  const backups = new LocalBackups(
    order.ownerUrl,
    new KeyWrapper(createSecretKey(Buffer.from(order.key, 'base64'))),
    order.dir,
  );
  const started = performance.now();
  const rss = () => process.resourceUsage().maxRSS / 1024;
  const elapsed = () => (performance.now() - started) / 1000;
  switch (order.mode) {
    case 'copy': {
      const dataBytes = await plainCopy(order.ownerUrl);
      return { seconds: elapsed(), dataBytes, maxRssMiB: rss() };
    }
    case 'backup': {
      const id = await backups.run(MIGRATIONS[MIGRATIONS.length - 1]!.name);
      const seconds = elapsed();
      const record = (await backups.list()).find((backup) => backup.id === id)!;
      return {
        seconds,
        dataBytes: record.dataBytes ?? 0,
        fileBytes: record.sizeBytes ?? 0,
        backupId: id,
        maxRssMiB: rss(),
      };
    }
    case 'restore': {
      let migrateSeconds = 0;
      const report = await backups.restore(order.backupId!, order.targetUrl!, async (version) => {
        const migrating = performance.now();
        await migrateSchema(order.targetUrl!, migrationsUpTo(MIGRATIONS, version));
        migrateSeconds = (performance.now() - migrating) / 1000;
      });
      return {
        seconds: elapsed(),
        dataBytes: report.manifest.tables.reduce((sum, table) => sum + table.bytes, 0),
        migrateSeconds,
        maxRssMiB: rss(),
      };
    }
  }
}

main().then(
  (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
