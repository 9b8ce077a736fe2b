import {
  Controller,
  DynamicModule,
  Get,
  Inject,
  Injectable,
  Module,
  NotFoundException,
  OnApplicationShutdown,
  Param,
} from '@nestjs/common';
import { Pool, QueryResult } from 'pg';
import { TenantScope, TenantTransaction } from '@forecourt/database';
import { PLAIN_TABLE, READ_COLUMNS } from './bench-database';
import { WithoutPolicy } from '@forecourt/authz';

export interface BenchReadOptions {
  runtimeUrl: string;
  tenantId: string;
  /** The raw pool's size: the same as the TypeORM pool's. */
  poolSize: number;
}

interface StoreRow {
  id: string;
  name: string;
  brands: string[];
  created_at: Date;
}

const OPTIONS = Symbol('BenchReadOptions');
const PLAIN_READ = `select ${READ_COLUMNS} from ${PLAIN_TABLE} where tenant_id = $1 and id = $2`;
const TENANT_READ = `select ${READ_COLUMNS} from stores where tenant_id = $1 and id = $2`;

/** A plain `pg` pool as the runtime role: no tenant transaction, no TypeORM. */
@Injectable()
class RawPool implements OnApplicationShutdown {
  readonly pool: Pool;

  constructor(@Inject(OPTIONS) options: BenchReadOptions) {
    this.pool = new Pool({ connectionString: options.runtimeUrl, max: options.poolSize });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}

function single(result: QueryResult<StoreRow>): StoreRow {
  const row = result.rows[0];
  if (!row) throw new NotFoundException();
  return row;
}

/** One row by primary key, three ways; everything else about the three routes is the same. */
@WithoutPolicy('benchmark reads, mounted only by the bench server')
@Controller('bench')
class BenchReadController {
  private readonly scope: TenantScope;

  constructor(
    @Inject(OPTIONS) private readonly options: BenchReadOptions,
    private readonly raw: RawPool,
    private readonly tenants: TenantTransaction,
  ) {
    this.scope = { tenantId: options.tenantId, stores: 'all' };
  }

  @Get('raw/:id')
  async readRaw(@Param('id') id: string): Promise<StoreRow> {
    return single(await this.raw.pool.query<StoreRow>(PLAIN_READ, [this.options.tenantId, id]));
  }

  @Get('tenant-statement/:id')
  async readStatement(@Param('id') id: string): Promise<StoreRow> {
    return single(await this.tenants.statement<StoreRow>(this.scope, TENANT_READ, [this.scope.tenantId, id]));
  }

  @Get('tenant-run/:id')
  async readRun(@Param('id') id: string): Promise<StoreRow> {
    return single(
      await this.tenants.run(this.scope, (tx) => tx.query<StoreRow>(TENANT_READ, [this.scope.tenantId, id])),
    );
  }
}

/** Bench-only routes, mounted into the real app through `createApp({ extraImports })`. */
@Module({})
export class BenchReadModule {
  static forRoot(options: BenchReadOptions): DynamicModule {
    return {
      module: BenchReadModule,
      controllers: [BenchReadController],
      providers: [{ provide: OPTIONS, useValue: options }, RawPool],
    };
  }
}
