import { performance } from 'node:perf_hooks';
import { Client, ClientConfig } from 'pg';
import { PLAIN_TABLE, READ_COLUMNS } from './bench-database';
import { LoadSettings, pick, quantile, Sample } from './measure';

/**
 * The database's own single-row read rate, `pgbench -S` style: `connections` clients, each
 * sending one primary-key SELECT at a time, no HTTP. It reads the policy-free copy of `stores`
 * as the superuser (see docs/performance.md for why).
 */
export class PgReadBench {
  private constructor(
    private readonly clients: Client[],
    private readonly tenantId: string,
    private readonly ids: readonly string[],
  ) {}

  static async open(
    config: ClientConfig,
    connections: number,
    tenantId: string,
    ids: readonly string[],
  ): Promise<PgReadBench> {
    const clients = Array.from({ length: connections }, () => {
      const client = new Client(config);
      client.on('error', () => undefined); // a dropped connection fails its next query instead
      return client;
    });
    await Promise.all(clients.map((client) => client.connect()));
    return new PgReadBench(clients, tenantId, ids);
  }

  async run(settings: LoadSettings): Promise<Sample> {
    await this.load(settings.warmupSeconds);
    return this.load(settings.seconds);
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((client) => client.end()));
  }

  private async load(seconds: number): Promise<Sample> {
    const sql = `select ${READ_COLUMNS} from ${PLAIN_TABLE} where tenant_id = $1 and id = $2`;
    const latencies: number[] = [];
    const started = performance.now();
    const deadline = started + seconds * 1000;
    await Promise.all(
      this.clients.map(async (client) => {
        while (performance.now() < deadline) {
          const sent = performance.now();
          const { rowCount } = await client.query(sql, [this.tenantId, pick(this.ids)]);
          latencies.push(performance.now() - sent);
          if (rowCount !== 1) throw new Error(`expected one row from ${PLAIN_TABLE}, got ${rowCount}`);
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    return {
      opsPerSecond: latencies.length / elapsed,
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
    };
  }
}
