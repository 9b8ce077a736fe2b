import fc from 'fast-check';
import {
  type ApiOperation,
  createTwoTenants,
  type DatabaseState,
  DatabaseStateReader,
  forbiddenChanges,
  liveOperations,
  type Role,
  ROLES,
  startTestApi,
  temporaryMailDir,
  type TestApi,
  type TwoTenants,
  urlOf,
} from '@forecourt/test-harness';
import { hostileBody, hostilePathValue, hostileQuery, type RawBody } from './hostile-values';
import {
  brokenChains,
  contractBreach,
  describe as describeProbe,
  type Probe,
  recordFigures,
  reliabilityMode,
  send,
  quietAfter,
} from './suite';

/**
 * Issue 12, item 1: every operation of the live OpenAPI document gets fast-check-generated hostile
 * requests — wrong types, missing and extra fields, huge strings, deep nesting, unicode edge
 * cases, injection strings, prototype-pollution keys, traversal file names, malformed multipart,
 * wrong content types, oversized bodies — from a caller who may use it and from callers who may
 * not. Every answer must be a success or a 4xx problem+json, within the hang limit, and a refused
 * request must leave the database as it was (database-state.ts says exactly what that means).
 */

const mode = reliabilityMode();
const mail = temporaryMailDir();
let api: TestApi;
let world: TwoTenants;
let operations: ApiOperation[];
let reader: DatabaseStateReader;

interface OperationFigures {
  key: string;
  inputs: number;
  statuses: Record<string, number>;
  breaches: string[];
  changedByRefusal: string[];
}
const figures: OperationFigures[] = [];

beforeAll(async () => {
  api = await startTestApi({
    env: { MAIL_DIR: mail.path, AUTH_FAILED_LIMIT: '1000000', AUTH_ATTEMPT_CEILING: '1000000' },
  });
  world = await createTwoTenants(api, mail.path);
  operations = orderedForSafety(await liveOperations(api.app));
  reader = await DatabaseStateReader.open(api.db);
}, 300_000);

afterAll(async () => {
  await reader?.close();
  await api?.close();
  mail.remove();
});

/**
 * Operations that end sessions or tenants run last, so the callers of the others stay signed in
 * (one of them may still lose its session: its requests then answer 401, which is still checked).
 */
function orderedForSafety(all: ApiOperation[]): ApiOperation[] {
  const destructive = (operation: ApiOperation) =>
    operation.method === 'DELETE' ||
    /\/(cancel|deletion|revoke-sessions|logout|restore)$/.test(operation.path);
  return [...all.filter((operation) => !destructive(operation)), ...all.filter(destructive)];
}

/** The caller most likely to be allowed: platform routes, tenant routes, or nobody (public routes). */
function likelyCaller(operation: ApiOperation): Role | null {
  if (operation.path.startsWith('/v1/platform/')) return 'platform_owner';
  if (operation.path.startsWith('/v1/tenants/')) return 'dealer_admin';
  return operation.authenticated ? 'dealer_admin' : null;
}

/**
 * A real id of the home group for a path parameter, so a request passes the outer checks and
 * reaches the code that parses the rest. A person's id is the marketer's, never the admin's: a
 * hostile request that revokes or removes someone must not sign out the admin walking the rest.
 */
function realId(parameter: string, operation: ApiOperation): string | undefined {
  const home = world.home;
  const byName: Record<string, string> = {
    tenantId: home.tenantId,
    userId: home.userIds.dealer_marketing!,
    vehicleId: home.north.vehicleId,
    mediaId: home.north.mediaId,
    customerId: home.north.customerId,
    leadId: home.north.leadId,
    dealId: home.north.dealId,
    bookingId: home.north.bookingId,
    testId: home.ssoTestId,
    tenantSlug: home.slug,
    code: 'reliability-plan',
    // `/v1/platform/tenants/{id}` takes a tenant; the foreign group may be restored or deleted here.
    id: operation.path.startsWith('/v1/platform/tenants/') ? world.foreign.tenantId : home.supportGrantId,
  };
  return byName[parameter];
}

interface HostileRequest {
  caller: Role | null;
  pathValues: Record<string, string>;
  query: [string, string][];
  body: RawBody | null;
}

function hostileRequest(operation: ApiOperation): fc.Arbitrary<HostileRequest> {
  const likely = likelyCaller(operation);
  const caller: fc.Arbitrary<Role | null> = fc.oneof(
    { weight: 4, arbitrary: fc.constant(likely) },
    { weight: 1, arbitrary: fc.constantFrom<Role | null>(...ROLES, null) },
  );
  return fc.record({
    caller,
    pathValues: fc.record(
      Object.fromEntries(
        operation.pathParams.map((name) => [name, hostilePathValue(realId(name, operation))]),
      ) as Record<string, fc.Arbitrary<string>>,
    ),
    query: hostileQuery(operation),
    body: hostileBody(operation),
  });
}

function probeOf(operation: ApiOperation, request: HostileRequest): Probe {
  const headers: Record<string, string> = { ...request.body?.headers };
  if (request.caller) headers.authorization = `Bearer ${world.tokens[request.caller]}`;
  return {
    method: operation.method,
    url: urlOf(operation, request.pathValues, request.query),
    headers,
    payload: request.body?.payload,
  };
}

describe('hostile input on every operation of the live OpenAPI document', () => {
  it('answers every generated request with a success or a 4xx problem+json, and a refusal changes nothing', async () => {
    expect(operations.length).toBeGreaterThan(50);
    let state: DatabaseState = await reader.read();
    for (const operation of operations) {
      const entry: OperationFigures = {
        key: operation.key,
        inputs: 0,
        statuses: {},
        breaches: [],
        changedByRefusal: [],
      };
      figures.push(entry);
      const requests = fc.sample(hostileRequest(operation), {
        numRuns: mode.hostileRunsPerOperation,
        seed: mode.seed,
      });
      for (const request of requests) {
        const probe = probeOf(operation, request);
        const label = request.body?.label ?? 'no body';
        entry.inputs += 1;
        let answer;
        try {
          answer = await send(api.app, probe);
        } catch (error) {
          entry.breaches.push(`${describeProbe(probe, label)}: ${(error as Error).message}`);
          state = await reader.read();
          continue;
        }
        const family = `${Math.floor(answer.status / 100)}xx`;
        entry.statuses[family] = (entry.statuses[family] ?? 0) + 1;
        const breach = contractBreach(answer);
        if (breach) entry.breaches.push(`${describeProbe(probe, label)}: ${breach}`);
        // After a success, background work it started (a backup, an export) may still be writing.
        const after =
          answer.status < 400 ? await reader.settled(quietAfter(answer.status)) : await reader.read();
        if (answer.status >= 400) {
          const changes = forbiddenChanges(state, after);
          if (changes.length > 0) {
            entry.changedByRefusal.push(
              `${describeProbe(probe, label)} -> ${answer.status}: ${changes.join('; ')}`,
            );
          }
        }
        state = after;
      }
    }
    const chains = await brokenChains(api.app);
    writeFigures(chains);
    expect(chains).toEqual([]);
    expect(figures.flatMap((entry) => entry.breaches)).toEqual([]);
    expect(figures.flatMap((entry) => entry.changedByRefusal)).toEqual([]);
  }, 3_600_000);
});

function writeFigures(brokenChainList: string[]): void {
  const rows = figures.map((entry) => {
    const statuses = ['2xx', '3xx', '4xx', '5xx']
      .filter((family) => entry.statuses[family])
      .map((family) => `${family} ${entry.statuses[family]}`)
      .join(', ');
    const fivexx = entry.statuses['5xx'] ?? 0;
    return `| \`${entry.key}\` | ${entry.inputs} | ${statuses} | ${fivexx} | ${entry.breaches.length} | ${entry.changedByRefusal.length} |`;
  });
  const total = (pick: (entry: OperationFigures) => number) =>
    figures.reduce((sum, entry) => sum + pick(entry), 0);
  recordFigures(
    mode,
    'hostile-input',
    [
      `Operations walked: ${figures.length}; inputs tried: ${total((entry) => entry.inputs)}; ` +
        `5xx: ${total((entry) => entry.statuses['5xx'] ?? 0)}; answers breaking the contract (5xx, hang, ` +
        `4xx without problem+json): ${total((entry) => entry.breaches.length)}; refusals that changed the ` +
        `database: ${total((entry) => entry.changedByRefusal.length)}; audit chains that do not verify ` +
        `afterwards: ${brokenChainList.length}.`,
      '',
      '| operation | inputs | answers | 5xx | contract breaches | refusals that changed data |',
      '| --- | ---: | --- | ---: | ---: | ---: |',
      ...rows,
    ].join('\n'),
  );
}
