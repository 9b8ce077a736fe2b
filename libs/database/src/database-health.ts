import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { MigrationClass, pendingMigrations } from './schema-migrator';

export const KNOWN_MIGRATIONS = Symbol('KnownMigrations');

export interface DatabaseReadiness {
  database: 'ok' | 'unreachable';
  migrations: 'current' | 'pending' | 'unknown';
}

/** Whether the database answers and holds every migration this build knows. */
@Injectable()
export class DatabaseHealth {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(KNOWN_MIGRATIONS) private readonly migrations: MigrationClass[],
  ) {}

  async readiness(): Promise<DatabaseReadiness> {
    try {
      const pending = await pendingMigrations(
        (sql) => this.dataSource.query<{ name: string }[]>(sql),
        this.migrations,
      );
      return { database: 'ok', migrations: pending.length === 0 ? 'current' : 'pending' };
    } catch {
      return { database: 'unreachable', migrations: 'unknown' };
    }
  }
}
