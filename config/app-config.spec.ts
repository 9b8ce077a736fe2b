import { ConfigError, loadConfig } from './app-config';

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env, '/srv/forecourt');
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('uses the documented defaults when nothing is set', () => {
    const config = loadConfig({}, '/srv/forecourt');
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      dataDir: '/srv/forecourt/.data',
      databaseUrl: null,
      migrationDatabaseUrl: null,
      publicUrl: 'http://localhost:3000',
      masterKey: null,
      mailDir: '/srv/forecourt/.data/mail',
      objectStorage: null,
      backupStorage: null,
    });
  });

  it('runs tenant exports every 2 s with a 60 s lease by default; 0 turns the worker off; bounds named', () => {
    expect(loadConfig({}, '/srv/forecourt')).toMatchObject({ exportPollMs: 2000, exportLeaseSeconds: 60 });
    expect(loadConfig({ EXPORT_POLL_MS: '0', EXPORT_LEASE_SECONDS: '2' }, '/srv/forecourt')).toMatchObject({
      exportPollMs: 0,
      exportLeaseSeconds: 2,
    });
    expect(configError({ EXPORT_POLL_MS: '-1' }).variable).toBe('EXPORT_POLL_MS');
    expect(configError({ EXPORT_POLL_MS: '700000' }).variable).toBe('EXPORT_POLL_MS');
    expect(configError({ EXPORT_LEASE_SECONDS: '1' }).variable).toBe('EXPORT_LEASE_SECONDS');
    expect(configError({ EXPORT_LEASE_SECONDS: 'soon' }).variable).toBe('EXPORT_LEASE_SECONDS');
  });

  it('names PORT when it is not a number', () => {
    const error = configError({ PORT: 'abc' });
    expect(error.variable).toBe('PORT');
    expect(error.message).toBe('PORT: must be a whole number from 1 to 65535 (got "abc")');
  });

  it('bounds the audit intervals: every second and every 15 minutes by default, never past Node timers', () => {
    expect(loadConfig({}, '/srv/forecourt')).toMatchObject({
      auditSealIntervalMs: 1000,
      auditCheckpointMinutes: 15,
    });
    expect(configError({ AUDIT_SEAL_INTERVAL_MS: '3000000000' }).variable).toBe('AUDIT_SEAL_INTERVAL_MS');
    expect(configError({ AUDIT_CHECKPOINT_MINUTES: '40000' }).variable).toBe('AUDIT_CHECKPOINT_MINUTES');
    expect(configError({ AUDIT_CHECKPOINT_MINUTES: '0' }).variable).toBe('AUDIT_CHECKPOINT_MINUTES');
  });

  it('runs the tenant lifecycle daily at 03:30 UTC unless LIFECYCLE_CRON says otherwise', () => {
    expect(loadConfig({}, '/srv/forecourt').lifecycleCron).toBe('30 3 * * *');
    expect(loadConfig({ LIFECYCLE_CRON: '0 4 * * *' }, '/srv/forecourt').lifecycleCron).toBe('0 4 * * *');
    expect(configError({ LIFECYCLE_CRON: 'nightly' }).variable).toBe('LIFECYCLE_CRON');
  });

  it('backs up daily at 02:00 UTC, keeping a day locally and a week off-site, unless told otherwise', () => {
    expect(loadConfig({}, '/srv/forecourt')).toMatchObject({
      backupCron: '0 2 * * *',
      backupLocalRetentionHours: 24,
      backupOffsiteRetentionDays: 7,
    });
    expect(
      loadConfig(
        {
          BACKUP_CRON: '30 3 * * 1',
          BACKUP_LOCAL_RETENTION_HOURS: '48',
          BACKUP_OFFSITE_RETENTION_DAYS: '30',
        },
        '/srv/forecourt',
      ),
    ).toMatchObject({
      backupCron: '30 3 * * 1',
      backupLocalRetentionHours: 48,
      backupOffsiteRetentionDays: 30,
    });
    expect(configError({ BACKUP_CRON: '61 2 * * *' }).message).toBe(
      'BACKUP_CRON: must be a cron expression (minute hour day-of-month month day-of-week), e.g. 0 2 * * * (got "61 2 * * *")',
    );
    expect(configError({ BACKUP_CRON: 'daily' }).variable).toBe('BACKUP_CRON');
    expect(configError({ BACKUP_OFFSITE_RETENTION_DAYS: '0' }).variable).toBe(
      'BACKUP_OFFSITE_RETENTION_DAYS',
    );
  });

  it('refuses a port out of range', () => {
    expect(configError({ PORT: '70000' }).variable).toBe('PORT');
  });

  it('refuses a DATABASE_URL that is not a postgres URL without echoing it', () => {
    const error = configError({ DATABASE_URL: 'mysql://user:s3cret@db/forecourt' });
    expect(error.variable).toBe('DATABASE_URL');
    expect(error.message).not.toContain('s3cret');
  });

  it('refuses a MASTER_KEY that is not 32 bytes, without echoing it', () => {
    const short = Buffer.alloc(16, 7).toString('base64');
    const error = configError({ MASTER_KEY: short });
    expect(error.message).toBe('MASTER_KEY: must be base64 of exactly 32 bytes');
  });

  it('accepts a 32-byte MASTER_KEY', () => {
    const key = Buffer.alloc(32, 9);
    expect(loadConfig({ MASTER_KEY: key.toString('base64') }).masterKey).toEqual(key);
  });

  it('names the missing S3 variable when only some are set', () => {
    const error = configError({ S3_ENDPOINT: 'http://127.0.0.1:9000', S3_BUCKET: 'media' });
    expect(error.variable).toBe('S3_REGION');
  });

  it('reads a complete backup bucket', () => {
    const config = loadConfig({
      BACKUP_S3_ENDPOINT: 'https://s3.example.test',
      BACKUP_S3_BUCKET: 'backups',
      BACKUP_S3_REGION: 'auto',
      BACKUP_S3_ACCESS_KEY_ID: 'id',
      BACKUP_S3_SECRET_ACCESS_KEY: 'secret',
    });
    expect(config.backupStorage).toEqual({
      endpoint: 'https://s3.example.test',
      bucket: 'backups',
      region: 'auto',
      accessKeyId: 'id',
      secretAccessKey: 'secret',
    });
  });

  it("talks to Stripe's own API unless STRIPE_API_URL names another origin", () => {
    expect(loadConfig({})).toMatchObject({ stripeSecretKey: null, stripeApi: null });
    expect(
      loadConfig({ STRIPE_SECRET_KEY: 'sk_test_abc', STRIPE_API_URL: 'http://127.0.0.1:12111' }),
    ).toMatchObject({
      stripeSecretKey: 'sk_test_abc',
      stripeApi: { protocol: 'http', host: '127.0.0.1', port: 12111 },
    });
    expect(loadConfig({ STRIPE_API_URL: 'https://stripe-proxy.example.test' }).stripeApi).toEqual({
      protocol: 'https',
      host: 'stripe-proxy.example.test',
      port: 443,
    });
  });

  it('refuses a STRIPE_API_URL with a path, which the SDK would silently drop', () => {
    expect(configError({ STRIPE_API_URL: 'https://proxy.example.test/stripe' }).variable).toBe(
      'STRIPE_API_URL',
    );
  });

  it('refuses a STRIPE_SECRET_KEY that is no secret key, without repeating it', () => {
    const error = configError({ STRIPE_SECRET_KEY: 'pk_live_do_not_echo' });
    expect(error.variable).toBe('STRIPE_SECRET_KEY');
    expect(error.message).not.toContain('do_not_echo');
  });

  it('refuses MIGRATION_DATABASE_URL without DATABASE_URL', () => {
    expect(configError({ MIGRATION_DATABASE_URL: 'postgres://owner@db/forecourt' }).variable).toBe(
      'MIGRATION_DATABASE_URL',
    );
  });

  it('talks path-style to the bucket with the SDK checksums, and takes media up to 100 MiB, by default', () => {
    expect(loadConfig({}, '/srv/forecourt')).toMatchObject({
      objectStorageOptions: { forcePathStyle: true, checksums: 'when_supported' },
      mediaMaxBytes: 104857600,
      mediaLinkSeconds: 300,
    });
  });

  it('keeps signed media links short: MEDIA_LINK_SECONDS at most an hour', () => {
    expect(loadConfig({ MEDIA_LINK_SECONDS: '60' }).mediaLinkSeconds).toBe(60);
    expect(configError({ MEDIA_LINK_SECONDS: '3601' }).variable).toBe('MEDIA_LINK_SECONDS');
    expect(configError({ MEDIA_LINK_SECONDS: '0' }).variable).toBe('MEDIA_LINK_SECONDS');
  });

  it('reads S3_FORCE_PATH_STYLE, S3_CHECKSUMS and MEDIA_MAX_BYTES', () => {
    const config = loadConfig({
      S3_FORCE_PATH_STYLE: 'false',
      S3_CHECKSUMS: 'when_required',
      MEDIA_MAX_BYTES: '5242880',
    });
    expect(config.objectStorageOptions).toEqual({ forcePathStyle: false, checksums: 'when_required' });
    expect(config.mediaMaxBytes).toBe(5242880);
  });

  it('names S3_FORCE_PATH_STYLE, S3_CHECKSUMS and MEDIA_MAX_BYTES when they are malformed', () => {
    expect(configError({ S3_FORCE_PATH_STYLE: 'yes' }).message).toBe(
      'S3_FORCE_PATH_STYLE: must be true or false (got "yes")',
    );
    expect(configError({ S3_CHECKSUMS: 'never' }).message).toBe(
      'S3_CHECKSUMS: must be when_supported or when_required (got "never")',
    );
    expect(configError({ MEDIA_MAX_BYTES: '100MB' }).variable).toBe('MEDIA_MAX_BYTES');
    expect(configError({ MEDIA_MAX_BYTES: '10' }).variable).toBe('MEDIA_MAX_BYTES');
  });

  it('derives PUBLIC_URL from PORT', () => {
    expect(loadConfig({ PORT: '8080' }).publicUrl).toBe('http://localhost:8080');
  });
});
