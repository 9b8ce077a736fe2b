/* eslint-disable no-restricted-imports --
   Jest loads the global set-up with Node's own resolver, which knows no @forecourt/* aliases, so
   it imports the alias-free database files directly. */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { MIGRATIONS } from '../../migrations';
import { EmbeddedCluster } from '../../libs/database/src/embedded-cluster';
import { bootstrapEmbeddedRoles, grantRuntimeGroup } from '../../libs/database/src/roles';
import { migrateSchema } from '../../libs/database/src/schema-migrator';
import {
  CLUSTER_ENV,
  ClusterInfo,
  OWNER_ROLE,
  RUNTIME_ROLE,
  TEMPLATE_DATABASE,
  urlFor,
} from './test-cluster';

declare global {
  var __FORECOURT_TEST_CLUSTER__: { cluster: EmbeddedCluster | null } | undefined;
}

async function adminInfo(): Promise<{
  info: Omit<ClusterInfo, 'ownerPassword' | 'runtimePassword'>;
  cluster: EmbeddedCluster | null;
}> {
  const external = process.env.TEST_DATABASE_URL;
  if (external) {
    const url = new URL(external);
    return {
      info: {
        host: url.hostname,
        port: Number(url.port || 5432),
        adminUser: decodeURIComponent(url.username),
        adminPassword: decodeURIComponent(url.password),
      },
      cluster: null,
    };
  }
  const cluster = await EmbeddedCluster.startTemporary({ prefix: 'forecourt-test-' });
  return {
    info: {
      host: '127.0.0.1',
      port: cluster.port,
      adminUser: 'postgres',
      adminPassword: cluster.superuserPassword,
    },
    cluster,
  };
}

export default async function globalSetup(): Promise<void> {
  // Once for the whole run: end-to-end tests start the compiled API and CLI, as npm start does.
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: join(__dirname, '..', '..'), stdio: 'ignore' });
  const { info: admin, cluster } = await adminInfo();
  const info: ClusterInfo = {
    ...admin,
    ownerPassword: randomBytes(16).toString('hex'),
    runtimePassword: randomBytes(16).toString('hex'),
  };
  const adminConfig = {
    host: info.host,
    port: info.port,
    user: info.adminUser,
    password: info.adminPassword,
  };
  await bootstrapEmbeddedRoles(adminConfig, {
    ownerPassword: info.ownerPassword,
    runtimePassword: info.runtimePassword,
  });

  const client = new Client({ ...adminConfig, database: 'postgres' });
  await client.connect();
  await client.query(`drop database if exists ${TEMPLATE_DATABASE} with (force)`);
  await client.query(`create database ${TEMPLATE_DATABASE} owner ${OWNER_ROLE}`);
  await client.end();

  const ownerUrl = urlFor(info, OWNER_ROLE, info.ownerPassword, TEMPLATE_DATABASE);
  await migrateSchema(ownerUrl, MIGRATIONS);
  await grantRuntimeGroup({ connectionString: ownerUrl }, RUNTIME_ROLE);

  process.env[CLUSTER_ENV] = JSON.stringify(info);
  globalThis.__FORECOURT_TEST_CLUSTER__ = { cluster };
}
