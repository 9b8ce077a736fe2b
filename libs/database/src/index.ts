export { type CopyOut } from './copy-out';
export { DataDirInUseError, DataDirLock } from './data-dir-lock';
export { DatabaseHealth, type DatabaseReadiness } from './database-health';
export { createRuntimeDataSource, DatabaseModule, type DatabaseModuleOptions } from './database.module';
export { type DatabaseSettings, type OpenDatabase, openDatabase, prepareDatabase } from './database-setup';
export { clientConfigFromUrl, postgresUrl, userOfUrl } from './database-urls';
export {
  type ClusterLog,
  EmbeddedCluster,
  type EmbeddedClusterOptions,
  EMBEDDED_SUPERUSER,
  freePort,
  runningServer,
} from './embedded-cluster';
export {
  assertSafeRuntimeRole,
  bootstrapEmbeddedRoles,
  EMBEDDED_DATABASE,
  EMBEDDED_OWNER_ROLE,
  EMBEDDED_RUNTIME_ROLE,
  grantRuntimeGroup,
  RUNTIME_GROUP_ROLE,
  UnsafeRuntimeRoleError,
  withClient,
} from './roles';
export { type MigrationClass, MIGRATIONS_TABLE, migrateSchema, pendingMigrations } from './schema-migrator';
export { TenantRepository } from './tenant-repository';
export {
  type ScopeSettings,
  scopeSettings,
  type TenantScope,
  tenantScopeOf,
  TenantScopeError,
} from './tenant-scope';
export {
  NestedTenantTransactionError,
  type SessionProof,
  type TenantQueries,
  type TenantStatementOptions,
  TenantTransaction,
  type TenantTransactionOptions,
  TenantTransactionRequiredError,
  type TenantWork,
} from './tenant-transaction';
export { isoTimestampSql, startsWithSql } from './text-prefix';
export { type AdvisoryLockKey, underSessionLock } from './session-lock';
export { type Queryable, tablesInForeignKeyOrder, tablesWithTenantId } from './table-order';
