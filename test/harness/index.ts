export {
  clusterInfo,
  createEmptyDatabase,
  createTestDatabase,
  type TestDatabase,
  urlFor,
  RUNTIME_ROLE,
  OWNER_ROLE,
} from './test-cluster';
export { inTenant, seedTenant, seedUser, type SeededTenant, type ScopeForSeed } from './seed';
export { GLOBAL_TABLES, schemaViolations } from './schema-rules';
export { startTestApi, type TestApi } from './api';
export { ApiProcess, embeddedRuntimeUrl, embeddedServerPid } from './api-process';
export { type SignedIn, SignInClient } from './sign-in';
export { invitationTokenFor, mailsIn } from './mailbox';
export { databaseTestingModule } from './database-module';
export { startS3Server, type S3TestServer } from './s3-server';
export { startStripeServer, type StripeRequest, type StripeTestServer } from './stripe-server';
export {
  createGroup,
  type Group,
  type GroupMember,
  memberCaller,
  type MemberAnswer,
  TEST_PASSWORD,
  temporaryMailDir,
  textBesidesRequestId,
} from './group';
export { multipartFile, TINY_PNG } from './multipart';
export { type ArchiveFile, readArchive } from './zip-archive';
export {
  generateSigningKey,
  relayStateOf,
  type SigningKey,
  spAuthnRequestId,
  TestIdp,
  type TestIdpResponseOptions,
} from './saml-idp';
export {
  AUDIT_TRAIL_TABLES,
  removeTenant,
  restorableContents,
  tableContents,
  tenantContents,
} from './table-contents';
export {
  billingTableTexts,
  type BillingFixture,
  closeBillingFixture,
  currentSubscription,
  PLATFORM_TENANT_ID,
  startBillingFixture,
  storedBillingEvents,
} from './billing';
export { TcpProxy } from './tcp-proxy';
export {
  type ApiOperation,
  type ApiParameter,
  type HttpMethod,
  type JsonSchema,
  liveOperations,
  operationsOf,
  urlOf,
} from './openapi-operations';
export { type DatabaseState, DatabaseStateReader, forbiddenChanges } from './database-state';
export {
  createTwoTenants,
  type Role,
  ROLES,
  type SeededGroup,
  STORE_SCOPED_ROLES,
  type StoreRows,
  type TwoTenants,
} from './two-tenants';
