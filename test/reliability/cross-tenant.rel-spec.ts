import {
  type ApiOperation,
  createTwoTenants,
  type DatabaseState,
  DatabaseStateReader,
  forbiddenChanges,
  liveOperations,
  type Role,
  ROLES,
  type SeededGroup,
  startTestApi,
  STORE_SCOPED_ROLES,
  type StoreRows,
  temporaryMailDir,
  type TestApi,
  type TwoTenants,
  urlOf,
} from '@forecourt/test-harness';
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
import { isIdField, validBody } from './valid-values';

/**
 * Issue 12, item 2: every authenticated operation with a tenant or an id in it, replayed with
 * every role's token against another group's ids (in that group's path, and smuggled into the
 * caller's own group's path or body) and, for the store-scoped roles, against the ids of their own
 * group's other store. No replay may succeed, and no answer may carry a value of the other group
 * (or of the other store) that the request did not itself contain.
 */

const mode = reliabilityMode();
const mail = temporaryMailDir();
let api: TestApi;
let world: TwoTenants;
let operations: ApiOperation[];
let reader: DatabaseStateReader;

beforeAll(async () => {
  api = await startTestApi({ env: { MAIL_DIR: mail.path } });
  world = await createTwoTenants(api, mail.path);
  operations = (await liveOperations(api.app)).filter(
    (operation) =>
      operation.authenticated && (operation.pathParams.length > 0 || bodyIdFields(operation).length > 0),
  );
  // Operations that end sessions run last, so the other replays keep their callers.
  operations.sort((a, b) => Number(a.method === 'DELETE') - Number(b.method === 'DELETE'));
  reader = await DatabaseStateReader.open(api.db);
}, 300_000);

afterAll(async () => {
  await reader?.close();
  await api?.close();
  mail.remove();
});

/**
 * Where the ids of a replay come from:
 * - `foreign tenant`: the other group's path, with its ids;
 * - `foreign ids`: the caller's own group in the path, every other id the other group's;
 * - `foreign body ids`: the caller's own group and rows in the path, the other group's ids in the body;
 * - `foreign store`: the caller's own group, the rows of its store outside the caller's scope.
 */
type Variant = 'foreign tenant' | 'foreign ids' | 'foreign body ids' | 'foreign store';

/**
 * Replays the platform may answer on another tenant by design (the role matrix's `foreign`
 * column, test/e2e/role-matrix.e2e-spec.ts): platform staff manage support grants in every tenant,
 * and the owner asks the matrix why someone may act there. Their answers are not counted as
 * leaks; everything else is.
 */
const PLATFORM_MANAGED: Record<string, Role[]> = {
  'GET /v1/tenants/{tenantId}/support-grants': ['platform_owner', 'platform_support'],
  'POST /v1/tenants/{tenantId}/support-grants/{id}/approve': ['platform_owner'],
  'DELETE /v1/tenants/{tenantId}/support-grants/{id}': ['platform_owner'],
  'GET /v1/tenants/{tenantId}/access/explain': ['platform_owner'],
};

/** Path parameters that name a row of one store (the foreign-store replay moves them). */
const STORE_BOUND = ['vehicleId', 'mediaId', 'customerId', 'leadId', 'dealId', 'bookingId', 'storeId'];

function bodyIdFields(operation: ApiOperation): string[] {
  return Object.keys(operation.jsonBody?.properties ?? {}).filter(isIdField);
}

/** The id `name` stands for in `group`, taking row ids from `rows` (one of its stores). */
function idIn(
  group: SeededGroup,
  rows: StoreRows,
  name: string,
  operation: ApiOperation,
): string | undefined {
  const singular = name.replace(/Ids$/, 'Id');
  const byName: Record<string, string> = {
    tenantId: group.tenantId,
    storeId: rows.storeId,
    vehicleId: rows.vehicleId,
    mediaId: rows.mediaId,
    customerId: rows.customerId,
    leadId: rows.leadId,
    dealId: rows.dealId,
    bookingId: rows.bookingId,
    userId: group.userIds.dealer_sales!,
    assignedUserId: group.userIds.dealer_sales!,
    testId: group.ssoTestId,
    id: operation.path.startsWith('/v1/platform/tenants/') ? group.tenantId : group.supportGrantId,
  };
  return byName[singular];
}

interface Replay {
  variant: Variant;
  role: Role;
  probe: Probe;
  /** Whether an id of the other group (or store) is in the path or body, so a 2xx is a breach. */
  mustRefuse: boolean;
  /** The values that must not appear in the answer. */
  secrets: string[];
}

function replaysOf(operation: ApiOperation): Replay[] {
  const { home, foreign } = world;
  const pathIds = operation.pathParams.filter((name) => name !== 'tenantId');
  const bodyIds = bodyIdFields(operation);
  const storeBound =
    operation.pathParams.some((name) => STORE_BOUND.includes(name)) ||
    bodyIds.some((name) => STORE_BOUND.includes(name.replace(/Ids$/, 'Id')));
  const plans: {
    variant: Variant;
    tenant: SeededGroup;
    path: [SeededGroup, StoreRows];
    body: [SeededGroup, StoreRows];
  }[] = [
    {
      variant: 'foreign tenant',
      tenant: foreign,
      path: [foreign, foreign.north],
      body: [foreign, foreign.north],
    },
  ];
  if (operation.pathParams.includes('tenantId') && (pathIds.length > 0 || bodyIds.length > 0)) {
    plans.push({
      variant: 'foreign ids',
      tenant: home,
      path: [foreign, foreign.north],
      body: [foreign, foreign.north],
    });
  }
  if (bodyIds.length > 0 && pathIds.length > 0) {
    plans.push({
      variant: 'foreign body ids',
      tenant: home,
      path: [home, home.north],
      body: [foreign, foreign.north],
    });
  }
  if (storeBound) {
    plans.push({
      variant: 'foreign store',
      tenant: home,
      path: [home, home.south],
      body: [home, home.south],
    });
  }
  const replays: Replay[] = [];
  for (const plan of plans) {
    const roles = plan.variant === 'foreign store' ? STORE_SCOPED_ROLES : ROLES;
    for (const role of roles) {
      // Platform routes are platform-wide by design for platform staff; the dealer roles must be refused.
      if (operation.path.startsWith('/v1/platform/') && role.startsWith('platform_')) continue;
      const [pathGroup, pathRows] = plan.path;
      const [bodyGroup, bodyRows] = plan.body;
      const pathValues = Object.fromEntries(
        operation.pathParams.map((name) => [
          name,
          name === 'tenantId' ? plan.tenant.tenantId : (idIn(pathGroup, pathRows, name, operation) ?? ''),
        ]),
      );
      const query = operation.queryParams
        .filter((parameter) => isIdField(parameter.name))
        .map((parameter): [string, string] => [
          parameter.name,
          idIn(bodyGroup, bodyRows, parameter.name, operation) ?? '',
        ]);
      const body = operation.jsonBody
        ? validBody(operation.jsonBody, (field) => idIn(bodyGroup, bodyRows, field, operation))
        : undefined;
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const probe: Probe = {
        method: operation.method,
        url: urlOf(operation, pathValues, query),
        headers: {
          authorization: `Bearer ${world.tokens[role]}`,
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
        },
        payload,
      };
      const foreignInPath =
        plan.tenant !== home ||
        (pathIds.length > 0 && plan.path[0] !== home) ||
        plan.variant === 'foreign store';
      const foreignInBody = bodyIds.length > 0 && (plan.body[0] !== home || plan.variant === 'foreign store');
      const secrets = plan.variant === 'foreign store' ? home.south.values : foreign.values;
      replays.push({
        variant: plan.variant,
        role,
        probe,
        mustRefuse: foreignInPath || foreignInBody,
        secrets,
      });
    }
  }
  return replays;
}

/**
 * The secrets in `answer` that the request did not carry itself (an echo of the URL is no leak),
 * compared without case, since the API may serve a value lower-cased (an e-mail address).
 */
function leaked(replay: Replay, answerBody: string): string[] {
  const asked = `${decodeURIComponent(replay.probe.url)} ${String(replay.probe.payload ?? '')}`.toLowerCase();
  const answered = answerBody.toLowerCase();
  return replay.secrets.filter(
    (value) => answered.includes(value.toLowerCase()) && !asked.includes(value.toLowerCase()),
  );
}

interface OperationFigures {
  key: string;
  attempts: number;
  byDesign: number;
  successes: string[];
  leaks: string[];
  breaches: string[];
  changedByRefusal: string[];
}

describe('cross-tenant sweep', () => {
  // A positive control: the search below would see a value that is there, so "no leaks" means none.
  it("finds a group's own values in its own admin's answer", async () => {
    const { home } = world;
    const probe: Probe = {
      method: 'GET',
      url: `/v1/tenants/${home.tenantId}/customers/${home.north.customerId}`,
      headers: { authorization: `Bearer ${world.tokens.dealer_admin}` },
    };
    const answer = await send(api.app, probe);
    const replay: Replay = {
      variant: 'foreign ids',
      role: 'dealer_admin',
      probe,
      mustRefuse: false,
      secrets: home.north.values,
    };
    expect(answer.status).toBe(200);
    const found = leaked(replay, answer.body);
    // The customer's name and e-mail are found; its id, which the URL itself carries, is not.
    expect(found).toEqual(
      expect.arrayContaining([expect.stringMatching(/ Customer$/), expect.stringMatching(/^customer-/)]),
    );
    expect(found).not.toContain(home.north.customerId);
  });

  it('refuses every replay against another group or an out-of-scope store, and leaks none of its values', async () => {
    expect(operations.length).toBeGreaterThan(40);
    const figures: OperationFigures[] = [];
    let state: DatabaseState = await reader.read();
    for (const operation of operations) {
      const entry: OperationFigures = {
        key: operation.key,
        attempts: 0,
        byDesign: 0,
        successes: [],
        leaks: [],
        breaches: [],
        changedByRefusal: [],
      };
      figures.push(entry);
      for (const replay of replaysOf(operation)) {
        entry.attempts += 1;
        const what = `${replay.role}, ${replay.variant}: ${describeProbe(replay.probe, operation.key)}`;
        const answer = await send(api.app, replay.probe);
        const breach = contractBreach(answer);
        if (breach) entry.breaches.push(`${what}: ${breach}`);
        const managed =
          replay.variant === 'foreign tenant' &&
          (PLATFORM_MANAGED[operation.key] ?? []).includes(replay.role);
        if (managed) {
          entry.byDesign += 1;
        } else {
          if (answer.status < 400 && replay.mustRefuse) entry.successes.push(`${what} -> ${answer.status}`);
          const found = leaked(replay, answer.body);
          if (found.length > 0) entry.leaks.push(`${what} -> ${answer.status} carries ${found.join(', ')}`);
        }
        const after =
          answer.status < 400 ? await reader.settled(quietAfter(answer.status)) : await reader.read();
        if (answer.status >= 400) {
          const changes = forbiddenChanges(state, after);
          if (changes.length > 0)
            entry.changedByRefusal.push(`${what} -> ${answer.status}: ${changes.join('; ')}`);
        }
        state = after;
      }
    }
    const chains = await brokenChains(api.app);
    writeFigures(figures, chains);
    expect(figures.flatMap((entry) => entry.breaches)).toEqual([]);
    expect(figures.flatMap((entry) => entry.successes)).toEqual([]);
    expect(figures.flatMap((entry) => entry.leaks)).toEqual([]);
    expect(figures.flatMap((entry) => entry.changedByRefusal)).toEqual([]);
    expect(chains).toEqual([]);
  }, 3_600_000);
});

function writeFigures(figures: OperationFigures[], chains: string[]): void {
  const total = (pick: (entry: OperationFigures) => number) =>
    figures.reduce((sum, entry) => sum + pick(entry), 0);
  recordFigures(
    mode,
    'cross-tenant',
    [
      `Operations replayed: ${figures.length}; attempts: ${total((entry) => entry.attempts)} ` +
        `(of which platform-managed by design: ${total((entry) => entry.byDesign)}); successes that should ` +
        `have been refused: ${total((entry) => entry.successes.length)}; leaks: ` +
        `${total((entry) => entry.leaks.length)}; 5xx or other contract breaches: ` +
        `${total((entry) => entry.breaches.length)}; refusals that changed the database: ` +
        `${total((entry) => entry.changedByRefusal.length)}; audit chains that do not verify afterwards: ${chains.length}.`,
      '',
      '| operation | attempts | platform-managed | wrongly allowed | leaks |',
      '| --- | ---: | ---: | ---: | ---: |',
      ...figures.map(
        (entry) =>
          `| \`${entry.key}\` | ${entry.attempts} | ${entry.byDesign} | ${entry.successes.length} | ${entry.leaks.length} |`,
      ),
    ].join('\n'),
  );
}
