import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { newId } from '@forecourt/core';
import { TenantTransaction } from '@forecourt/database';
import { Mailer } from '@forecourt/mail';
import { certificateInfo } from './idp-certificates';
import { tenantAdmins } from './tenant-admins';

/** How often every connection's certificates are looked at; each warning goes out once anyway. */
const CHECK_EVERY_MS = 60 * 60_000;
const FIRST_CHECK_MS = 60_000;

/**
 * Sweeps each connection's expired request and assertion ids, and tells each tenant's admins, once per certificate, that an IdP signing certificate of their SSO
 * connection expires within 30 days (the connection flags it too). Runs on every instance; the
 * certificate's fingerprint is claimed in `expiry_warned` before the mail goes, so however many
 * instances look, one sends it.
 */
@Injectable()
export class SsoCertificateWatch implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('SsoCertificateWatch');
  private running: Promise<unknown> | null = null;

  constructor(
    private readonly transactions: TenantTransaction,
    private readonly mailer: Mailer,
    private readonly registry: SchedulerRegistry,
  ) {}

  onApplicationBootstrap(): void {
    const tick = () => {
      if (this.running) return;
      this.running = this.run()
        .catch((error: unknown) => this.logger.warn(`certificate watch failed: ${(error as Error).message}`))
        .finally(() => (this.running = null));
    };
    const first = setTimeout(tick, FIRST_CHECK_MS);
    first.unref();
    const timer = setInterval(tick, CHECK_EVERY_MS);
    timer.unref();
    this.registry.addTimeout('sso-certificate-watch-first', first);
    this.registry.addInterval('sso-certificate-watch', timer);
  }

  async beforeApplicationShutdown(): Promise<void> {
    for (const [kind, name] of [
      ['timeout', 'sso-certificate-watch-first'],
      ['interval', 'sso-certificate-watch'],
    ] as const) {
      if (this.registry.doesExist(kind, name)) {
        if (kind === 'timeout') this.registry.deleteTimeout(name);
        else this.registry.deleteInterval(name);
      }
    }
    await this.running;
  }

  /** One pass over every connection; returns the number of warnings sent. */
  async run(now = new Date()): Promise<number> {
    const { rows } = await this.transactions.statement<{ id: string }>(
      // Read as nobody in particular: the function returns tenant ids and nothing else.
      { tenantId: null, stores: [], userId: newId() },
      'select id from app.sso_connection_tenants() as id',
    );
    let sent = 0;
    for (const { id } of rows) sent += await this.checkTenant(id, now);
    return sent;
  }

  private async checkTenant(tenantId: string, now: Date): Promise<number> {
    const scope = { tenantId, stores: 'all' as const };
    const { rows } = await this.transactions.statement<{
      certificates: string[];
      warned: string[];
      name: string;
    }>(
      scope,
      `select c.idp_certificates as certificates, c.expiry_warned as warned, t.name
         from sso_connections c join tenants t on t.id = c.tenant_id where c.tenant_id = $1`,
      [tenantId],
    );
    const connection = rows[0];
    if (!connection) return 0;
    // Past their end, the request ids and accepted assertion ids protect nothing: node-saml refuses
    // an expired assertion anyway.
    await this.transactions.statement(
      scope,
      'delete from saml_requests where tenant_id = $1 and expires_at < now()',
      [tenantId],
    );
    await this.transactions.statement(
      scope,
      'delete from saml_assertions where tenant_id = $1 and expires_at < now()',
      [tenantId],
    );
    let sent = 0;
    for (const pem of connection.certificates) {
      let info: ReturnType<typeof certificateInfo>;
      try {
        info = certificateInfo(pem, now);
      } catch {
        continue; // stored before it was checked (seed data); nothing to warn about
      }
      if (!info.expiresSoon || connection.warned.includes(info.fingerprint)) continue;
      const claimed = await this.transactions.statement(
        scope,
        `update sso_connections set expiry_warned = array_append(expiry_warned, $2)
          where tenant_id = $1 and not ($2 = any (expiry_warned))`,
        [tenantId, info.fingerprint],
      );
      if (claimed.rowCount !== 1) continue; // another instance took it
      for (const admin of await tenantAdmins(this.transactions, tenantId)) {
        await this.mailer.send({
          template: 'sso-certificate-expiring',
          to: admin.email,
          data: {
            tenantName: connection.name,
            subject: info.subject,
            fingerprint: info.fingerprint,
            validTo: new Date(info.validTo),
          },
        });
      }
      sent += 1;
    }
    return sent;
  }
}
