/**
 * `npm run bench:sso` — issue 8's figure: SAML assertion-consumer requests per second for valid
 * signed responses, beside the password + TOTP sign-in, in the same run on the same API process.
 *
 * One throw-away embedded PostgreSQL (fsync off), one API process (`bench-server.ts`), one tenant
 * whose SSO connection trusts a samlify IdP made here (`test/harness/saml-idp.ts`, RSA 2048,
 * SHA-256, response and assertion both signed) and accepts IdP-initiated responses, mapping
 * everyone to dealer_sales on every store. Every posted response is a new, validly signed one
 * (the replay cache refuses a second use), made before the timed runs; they name 50 users, so
 * after the first round each is an existing account whose mapping is applied again. Sign-ins use
 * platform owners enrolled in MFA, their second step a recovery code (a TOTP code works once per
 * step), exactly as `npm run bench` row 7.
 *
 * Measured, in interleaved rounds: each flow with `BENCH_SSO_WORKERS` concurrent callers (fetch,
 * keep-alive) — completed sign-ins per second, p50/p99 of each sign-in, and the API process's CPU
 * per sign-in. Progress goes to stderr, the Markdown report to stdout.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { withClient } from '@forecourt/database';
import { TestIdp } from '../test/harness/saml-idp';
import { startBenchDatabase } from './bench-database';
import { HttpReadBench } from './http-read.bench';
import { median, quantile } from './measure';
import { machine, markdownTable } from './report';
import { SignInBench } from './sign-in.bench';

function setting(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
}

const ROUNDS = setting('BENCH_ROUNDS', 3);
const WORKERS = setting('BENCH_SSO_WORKERS', 10);
const ACS_PER_ROUND = setting('BENCH_SSO_ACS', 600);
const SIGN_INS_PER_ROUND = setting('BENCH_SSO_SIGNINS', 150);
const USERS = 50;
const CODES_PER_OWNER = 10;

const started = performance.now();
const progress = (message: string) =>
  process.stderr.write(`bench:sso ${((performance.now() - started) / 60_000).toFixed(1)} min: ${message}\n`);

interface RoundResult {
  perSecond: number;
  p50: number;
  p99: number;
  cpuPerOp: number;
}

/** `jobs` run by `workers` concurrent callers; each job's own time in ms. */
async function concurrently(
  jobs: (() => Promise<void>)[],
  workers: number,
): Promise<{ seconds: number; times: number[] }> {
  const times: number[] = [];
  let next = 0;
  const begin = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < jobs.length) {
        const job = jobs[next++]!;
        const t0 = performance.now();
        await job();
        times.push(performance.now() - t0);
      }
    }),
  );
  return { seconds: (performance.now() - begin) / 1000, times };
}

function summary(run: { seconds: number; times: number[] }, cpuMicros: number): RoundResult {
  const sorted = [...run.times].sort((a, b) => a - b);
  return {
    perSecond: run.times.length / run.seconds,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    cpuPerOp: cpuMicros / run.times.length,
  };
}

async function main(): Promise<void> {
  progress('starting PostgreSQL, migrating, seeding one tenant');
  const database = await startBenchDatabase({ stores: 2, admins: 1, members: 1 });
  let api: HttpReadBench | undefined;
  try {
    const idp = new TestIdp({
      entityId: 'https://idp.bench.example',
      ssoUrl: 'https://idp.bench.example/sso',
    });
    await withClient(database.admin, (client) =>
      client.query(
        `insert into sso_connections (tenant_id, idp_entity_id, idp_sso_url, idp_certificates, allow_idp_initiated,
           default_role)
         values ($1, $2, $3, $4, true, '{"role": "dealer_sales", "allStores": true, "storeIds": []}')`,
        [database.tenantId, idp.entityId, idp.ssoUrl, [idp.certificatePem]],
      ),
    );
    const signInsNeeded = SIGN_INS_PER_ROUND * ROUNDS + 20;
    const owners = Math.ceil(signInsNeeded / CODES_PER_OWNER);
    progress(`starting the API, creating ${owners} platform owners`);
    api = await HttpReadBench.start(
      {
        runtimeUrl: database.runtimeUrl,
        tenantId: database.tenantId,
        poolSize: 10,
        masterKey: randomBytes(32).toString('base64'),
        owners,
      },
      database.storeIds,
    );
    const origin = api.origin;
    const metadata = await (await fetch(`${origin}/v1/sso/saml/bench-group/metadata`)).text();
    const spEntityId = /entityID="([^"]+)"/.exec(metadata)?.[1];
    const acsUrl = /AssertionConsumerService[^>]*Location="([^"]+)"/.exec(metadata)?.[1];
    if (!spEntityId || !acsUrl) throw new Error('the SP metadata names no entity id or ACS URL');

    progress(`enrolling MFA for ${owners} owners`);
    const signIn = await SignInBench.enroll(origin, api.owners);

    const total = ACS_PER_ROUND * ROUNDS + USERS;
    progress(`signing ${total} SAML responses`);
    const responses: string[] = [];
    for (let index = 0; index < total; index++) {
      responses.push(
        await idp.response({
          spEntityId,
          acsUrl,
          nameId: `user${index % USERS}@sso.bench.example`,
          attributes: { groups: ['Sales'] },
        }),
      );
    }
    // Node's fetch keeps its connections alive, as the sign-in rows' does.
    const postAcs = async (samlResponse: string) => {
      const response = await fetch(`${origin}/v1/sso/saml/bench-group/acs`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ SAMLResponse: samlResponse }).toString(),
      });
      const text = await response.text();
      if (response.status !== 200) throw new Error(`ACS answered ${response.status}: ${text}`);
    };
    // Warm-up, and every user's account created (JIT) before anything is timed.
    progress('warm-up: the first sign-in of each SSO user');
    await concurrently(
      responses.splice(0, USERS).map((response) => () => postAcs(response)),
      WORKERS,
    );

    const acsRounds: RoundResult[] = [];
    const passwordRounds: RoundResult[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const batch = responses.splice(0, ACS_PER_ROUND);
      const acs = await api.measureCpu(() =>
        concurrently(
          batch.map((response) => () => postAcs(response)),
          WORKERS,
        ),
      );
      acsRounds.push(summary(acs.result, acs.cpuMicros));
      const password = await api.measureCpu(() =>
        concurrently(
          Array.from({ length: SIGN_INS_PER_ROUND }, () => async () => {
            await signIn.run(1);
          }),
          WORKERS,
        ),
      );
      passwordRounds.push(summary(password.result, password.cpuMicros));
      const last = (rounds: RoundResult[]) => `${rounds[rounds.length - 1]!.perSecond.toFixed(0)}/s`;
      progress(`round ${round}: ACS ${last(acsRounds)}, password + TOTP ${last(passwordRounds)}`);
    }

    const row = (label: string, rounds: RoundResult[]) => [
      label,
      median(rounds.map((round) => round.perSecond)).toFixed(0),
      median(rounds.map((round) => round.p50)).toFixed(1),
      median(rounds.map((round) => round.p99)).toFixed(1),
      (median(rounds.map((round) => round.cpuPerOp)) / 1000).toFixed(2),
    ];
    const ratio =
      median(acsRounds.map((round, index) => round.perSecond / passwordRounds[index]!.perSecond)) || 0;
    process.stdout.write(
      [
        `machine: ${machine(database.serverVersion)}`,
        '',
        `${WORKERS} concurrent callers, ${ROUNDS} interleaved rounds of ${ACS_PER_ROUND} SSO sign-ins and ` +
          `${SIGN_INS_PER_ROUND} password + TOTP sign-ins; medians over rounds.`,
        '',
        markdownTable(
          ['flow', 'sign-ins/s', 'p50 ms', 'p99 ms', 'API CPU ms per sign-in'],
          [
            row('SAML ACS: a new signed response (IdP-initiated), JIT mapping, session', acsRounds),
            row('password + TOTP: login, then MFA verify (a recovery code), session', passwordRounds),
          ],
        ),
        '',
        `ACS ÷ password + TOTP, median of per-round ratios: ${ratio.toFixed(2)}×`,
        '',
      ].join('\n'),
    );
  } finally {
    await api?.stop();
    await database.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
