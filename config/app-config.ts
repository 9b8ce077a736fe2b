import { resolve } from 'node:path';
import { validateCronExpression } from 'cron';
import { z } from 'zod';

/** Settings for one S3-compatible bucket (`S3_*` or `BACKUP_S3_*`). */
export interface S3Settings {
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** The Stripe SDK's `protocol`, `host` and `port` options, from `STRIPE_API_URL`. */
export interface StripeApiEndpoint {
  protocol: 'http' | 'https';
  host: string;
  port: number;
}

/** The whole validated configuration. Nothing else in Forecourt reads `process.env`. */
export interface AppConfig {
  port: number;
  host: string;
  dataDir: string;
  /** null: run the embedded PostgreSQL in `dataDir/pg`. */
  databaseUrl: string | null;
  /** The schema owner's connection; null: the same as `databaseUrl` (or the embedded owner). */
  migrationDatabaseUrl: string | null;
  publicUrl: string;
  /** 32 bytes; null: generated once into `dataDir/master.key`. */
  masterKey: Buffer | null;
  smtpUrl: string | null;
  mailDir: string;
  objectStorage: S3Settings | null;
  /**
   * How the object-storage bucket is spoken to; unused without `objectStorage`.
   * `forcePathStyle` (`S3_FORCE_PATH_STYLE`, default true): `endpoint/bucket/key` addressing,
   * which custom endpoints such as MinIO need and AWS and R2 accept.
   * `checksums` (`S3_CHECKSUMS`, default `when_supported`): `when_required` stops the SDK's default
   * streaming checksums, only for S3-compatible servers that mishandle them; production keeps the default.
   */
  objectStorageOptions: { forcePathStyle: boolean; checksums: 'when_supported' | 'when_required' };
  backupStorage: S3Settings | null;
  /**
   * Where backups are restored to be checked: a role that may create databases (each check makes
   * one and drops it). Null with the embedded server: its own superuser does it; null otherwise:
   * backups are not checked.
   */
  backupVerifyDatabaseUrl: string | null;
  /** How long local backups in `DATA_DIR/backups` are kept (the newest good one always). */
  backupLocalRetentionHours: number;
  /** How long off-site copies (`BACKUP_S3_*`) are kept (the newest good one always). */
  backupOffsiteRetentionDays: number;
  /** When the scheduled backup runs: a cron expression, in UTC (one instance runs it). */
  backupCron: string;
  /** When the daily tenant lifecycle run (grace, deletion) fires: a cron expression, in UTC. */
  lifecycleCron: string;
  stripeWebhookSecret: string | null;
  /** Days a subscription may stay behind on payment before its tenant becomes read-only. */
  billingGraceDays: number;
  /** Stripe's API key; null: the billing portal link answers 503 (Stripe is not configured here). */
  stripeSecretKey: string | null;
  /**
   * Where the Stripe SDK sends API requests (`STRIPE_API_URL`); null: Stripe's own API. Set for
   * tests (a local server answering like Stripe) and staging proxies.
   */
  stripeApi: StripeApiEndpoint | null;
  razorpayWebhookSecret: string | null;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Largest accepted request body; larger ones answer 413. */
  bodyLimitBytes: number;
  /** Largest accepted media upload (a photo or document of a vehicle). */
  mediaMaxBytes: number;
  /** How long a signed media download link works (the API issues them on request). */
  mediaLinkSeconds: number;
  /** The `Contact:` of `/.well-known/security.txt` (a mailto: or https: URI). */
  securityContact: string;
  /** How often the audit sealer numbers and chains new events (the tamper-evidence window). */
  auditSealIntervalMs: number;
  /** How often each audit chain's head is signed into a checkpoint kept outside the database. */
  auditCheckpointMinutes: number;
  /** How often this instance looks for a tenant data export to run; 0: it runs none. */
  exportPollMs: number;
  /** How long a running export stays claimed without a heartbeat before another instance restarts it. */
  exportLeaseSeconds: number;
  /** A session unused for this long ends. */
  sessionIdleMinutes: number;
  /** A session ends this long after sign-in, however busy. */
  sessionAbsoluteHours: number;
  /** Sign-in rate limits, per client IP within `authWindowSeconds`, shared by all instances. */
  authFailedLimit: number;
  authAttemptCeiling: number;
  authWindowSeconds: number;
  /** Proxies (IPs or CIDRs) whose `X-Forwarded-For` names the client; none by default. */
  trustedProxies: string[];
}

/**
 * Thrown for a missing or malformed setting. The message is one line that names the variable
 * and what is wrong with it, and never repeats a secret's value.
 */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const SECRET_VARIABLES = new Set([
  'DATABASE_URL',
  'MIGRATION_DATABASE_URL',
  'MASTER_KEY',
  'SMTP_URL',
  'S3_SECRET_ACCESS_KEY',
  'BACKUP_S3_SECRET_ACCESS_KEY',
  'STRIPE_WEBHOOK_SECRET',
  'STRIPE_SECRET_KEY',
  'RAZORPAY_WEBHOOK_SECRET',
]);

const port = z.coerce
  .number({ error: 'must be a whole number from 1 to 65535' })
  .int('must be a whole number from 1 to 65535')
  .min(1, 'must be a whole number from 1 to 65535')
  .max(65535, 'must be a whole number from 1 to 65535');

const postgresUrl = z
  .url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// or postgresql:// URL' })
  .optional();

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

/** A secret (`sk_`) or restricted (`rk_`) key; a publishable key or a webhook secret here is a mix-up. */
const stripeSecretKey = z
  .string()
  .regex(/^(sk|rk)_(test|live)_\S+$/, 'must be a Stripe secret or restricted key (sk_… or rk_…)')
  .optional();

/**
 * An origin only: the SDK's options are protocol, host and port, so a path, query or credentials
 * would be silently dropped; refused instead.
 */
const stripeApiUrl = httpUrl
  .refine((value) => {
    const url = new URL(value);
    return url.pathname === '/' && !url.search && !url.hash && !url.username && !url.password;
  }, 'must be an http(s)://host:port origin, without path, query or credentials')
  .transform((value): StripeApiEndpoint => {
    const url = new URL(value);
    const protocol = url.protocol === 'https:' ? 'https' : 'http';
    return {
      protocol,
      // URL keeps an IPv6 host in brackets; Node's http client wants it bare.
      host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port ? Number(url.port) : protocol === 'https' ? 443 : 80,
    };
  })
  .optional();

const masterKey = z
  .base64('must be base64')
  .transform((value) => Buffer.from(value, 'base64'))
  .refine((key) => key.length === 32, 'must be base64 of exactly 32 bytes')
  .optional();

const smtpUrl = z.url({ protocol: /^smtps?$/, error: 'must be an smtp:// or smtps:// URL' }).optional();

const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
  error: 'must be one of fatal, error, warn, info, debug, trace, silent',
});

const positiveInt = (unit: string) =>
  z.coerce
    .number({ error: `must be a whole number of ${unit}` })
    .int(`must be a whole number of ${unit}`)
    .min(1, `must be at least 1 ${unit}`);

const byteSize = z.coerce
  .number({ error: 'must be a whole number of bytes' })
  .int('must be a whole number of bytes')
  .min(1024, 'must be at least 1024 bytes');

const flag = z
  .enum(['true', 'false'], { error: 'must be true or false' })
  .transform((value) => value === 'true');

const cronExpression = z.string().refine((value) => validateCronExpression(value).valid, {
  error: 'must be a cron expression (minute hour day-of-month month day-of-week), e.g. 0 2 * * *',
});

const s3Checksums = z.enum(['when_supported', 'when_required'], {
  error: 'must be when_supported or when_required',
});

function parse<T>(env: Env, variable: string, schema: z.ZodType<T>): T {
  const raw = env[variable];
  const result = schema.safeParse(raw === '' ? undefined : raw);
  if (result.success) return result.data;
  const problem = result.error.issues[0]?.message ?? 'is invalid';
  const shown = raw === undefined || SECRET_VARIABLES.has(variable) ? '' : ` (got ${JSON.stringify(raw)})`;
  throw new ConfigError(variable, `${problem}${shown}`);
}

const S3_FIELDS = [
  ['ENDPOINT', 'endpoint'],
  ['BUCKET', 'bucket'],
  ['REGION', 'region'],
  ['ACCESS_KEY_ID', 'accessKeyId'],
  ['SECRET_ACCESS_KEY', 'secretAccessKey'],
] as const;

/** All five `<prefix>*` variables, or none of them. */
function parseS3(env: Env, prefix: 'S3_' | 'BACKUP_S3_'): S3Settings | null {
  const present = S3_FIELDS.filter(([suffix]) => (env[prefix + suffix] ?? '') !== '');
  if (present.length === 0) return null;
  const missing = S3_FIELDS.find(([suffix]) => (env[prefix + suffix] ?? '') === '');
  if (missing) {
    throw new ConfigError(
      prefix + missing[0],
      `is required when any ${prefix}* variable is set (all five go together)`,
    );
  }
  parse(env, `${prefix}ENDPOINT`, httpUrl);
  const settings = {} as S3Settings;
  for (const [suffix, key] of S3_FIELDS) settings[key] = env[prefix + suffix] as string;
  return settings;
}

/** Reads and validates the configuration; throws {@link ConfigError} on the first bad setting. */
export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): AppConfig {
  const listenPort = parse(env, 'PORT', port.default(3000));
  const host = parse(env, 'HOST', z.string().min(1).default('127.0.0.1'));
  const dataDir = resolve(cwd, parse(env, 'DATA_DIR', z.string().min(1).default('./.data')));
  const databaseUrl = parse(env, 'DATABASE_URL', postgresUrl) ?? null;
  const migrationDatabaseUrl = parse(env, 'MIGRATION_DATABASE_URL', postgresUrl) ?? null;
  if (migrationDatabaseUrl && !databaseUrl) {
    throw new ConfigError('MIGRATION_DATABASE_URL', 'is only used together with DATABASE_URL');
  }
  const publicUrl = parse(env, 'PUBLIC_URL', httpUrl.default(`http://localhost:${listenPort}`)).replace(
    /\/+$/,
    '',
  );
  return {
    port: listenPort,
    host,
    dataDir,
    databaseUrl,
    migrationDatabaseUrl,
    publicUrl,
    masterKey: parse(env, 'MASTER_KEY', masterKey) ?? null,
    smtpUrl: parse(env, 'SMTP_URL', smtpUrl) ?? null,
    mailDir: resolve(cwd, parse(env, 'MAIL_DIR', z.string().min(1).default(resolve(dataDir, 'mail')))),
    objectStorage: parseS3(env, 'S3_'),
    objectStorageOptions: {
      forcePathStyle: parse(env, 'S3_FORCE_PATH_STYLE', flag.default(true)),
      checksums: parse(env, 'S3_CHECKSUMS', s3Checksums.default('when_supported')),
    },
    backupStorage: parseS3(env, 'BACKUP_S3_'),
    backupVerifyDatabaseUrl: parse(env, 'BACKUP_VERIFY_DATABASE_URL', postgresUrl) ?? null,
    backupLocalRetentionHours: parse(
      env,
      'BACKUP_LOCAL_RETENTION_HOURS',
      positiveInt('hours')
        .max(24 * 366, 'must be at most 8784 (a year)')
        .default(24),
    ),
    backupOffsiteRetentionDays: parse(
      env,
      'BACKUP_OFFSITE_RETENTION_DAYS',
      positiveInt('days').max(3660, 'must be at most 3660 (ten years)').default(7),
    ),
    backupCron: parse(env, 'BACKUP_CRON', cronExpression.default('0 2 * * *')),
    lifecycleCron: parse(env, 'LIFECYCLE_CRON', cronExpression.default('30 3 * * *')),
    stripeWebhookSecret: parse(env, 'STRIPE_WEBHOOK_SECRET', z.string().optional()) ?? null,
    billingGraceDays: parse(
      env,
      'BILLING_GRACE_DAYS',
      positiveInt('days').max(365, 'must be at most 365 days').default(14),
    ),
    stripeSecretKey: parse(env, 'STRIPE_SECRET_KEY', stripeSecretKey) ?? null,
    stripeApi: parse(env, 'STRIPE_API_URL', stripeApiUrl) ?? null,
    razorpayWebhookSecret: parse(env, 'RAZORPAY_WEBHOOK_SECRET', z.string().optional()) ?? null,
    logLevel: parse(env, 'LOG_LEVEL', logLevel.default('info')),
    bodyLimitBytes: parse(env, 'BODY_LIMIT_BYTES', byteSize.default(1024 * 1024)),
    mediaMaxBytes: parse(env, 'MEDIA_MAX_BYTES', byteSize.default(100 * 1024 * 1024)),
    mediaLinkSeconds: parse(
      env,
      'MEDIA_LINK_SECONDS',
      positiveInt('seconds').max(3600, 'must be at most 3600 seconds (an hour)').default(300),
    ),
    securityContact: parse(
      env,
      'SECURITY_CONTACT',
      z
        .string()
        .regex(/^(mailto:|https:\/\/)\S+$/, 'must be a mailto: or https:// URI')
        .default(`mailto:security@${new URL(publicUrl).hostname}`),
    ),
    auditSealIntervalMs: parse(
      env,
      'AUDIT_SEAL_INTERVAL_MS',
      positiveInt('milliseconds').max(600_000, 'must be at most 600000 (10 minutes)').default(1000),
    ),
    auditCheckpointMinutes: parse(
      env,
      'AUDIT_CHECKPOINT_MINUTES',
      positiveInt('minutes').max(1440, 'must be at most 1440 (a day)').default(15),
    ),
    exportPollMs: parse(
      env,
      'EXPORT_POLL_MS',
      z.coerce
        .number({ error: 'must be a whole number of milliseconds' })
        .int('must be a whole number of milliseconds')
        .min(0, 'must be 0 (no export jobs on this instance) or more')
        .max(600_000, 'must be at most 600000 (10 minutes)')
        .default(2000),
    ),
    exportLeaseSeconds: parse(
      env,
      'EXPORT_LEASE_SECONDS',
      positiveInt('seconds')
        .min(2, 'must be at least 2 seconds')
        .max(3600, 'must be at most 3600 (an hour)')
        .default(60),
    ),
    sessionIdleMinutes: parse(env, 'SESSION_IDLE_MINUTES', positiveInt('minutes').default(30)),
    sessionAbsoluteHours: parse(env, 'SESSION_ABSOLUTE_HOURS', positiveInt('hours').default(12)),
    authFailedLimit: parse(env, 'AUTH_FAILED_LIMIT', positiveInt('attempts').default(10)),
    authAttemptCeiling: parse(env, 'AUTH_ATTEMPT_CEILING', positiveInt('attempts').default(300)),
    authWindowSeconds: parse(env, 'AUTH_WINDOW_SECONDS', positiveInt('seconds').default(300)),
    trustedProxies: parse(
      env,
      'TRUSTED_PROXIES',
      z
        .string()
        .transform((value) =>
          value
            .split(',')
            .map((entry) => entry.trim())
            .filter(Boolean),
        )
        .refine(
          (entries) => entries.every((entry) => /^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(entry)),
          'must be a comma-separated list of IP addresses or CIDR ranges',
        )
        .default([]),
    ),
  };
}
