import { Injectable, Logger } from '@nestjs/common';
import { AuditTrail } from '@forecourt/audit';
import { type RequestContext } from '@forecourt/core';
import { TenantTransaction } from '@forecourt/database';
import { Mailer } from '@forecourt/mail';
import { SamlError, SamlErrorCode } from './saml-error';
import { tenantAdmins } from './tenant-admins';

interface EnforcingTenant {
  tenant_id: string;
  slug: string;
  name: string;
  break_glass: boolean;
}

/**
 * SSO-only mode at password sign-in. A user with an active membership in a group that enforces
 * SSO signs in through that group's IdP; only the group's designated break-glass dealer_admins
 * may still use password + TOTP, and each such sign-in is audited in the group's trail and mailed
 * to its other admins. Asked only after the password is proven, so the answer tells a stranger
 * nothing about an account.
 */
@Injectable()
export class SsoEnforcement {
  private readonly logger = new Logger('SsoEnforcement');

  constructor(
    private readonly transactions: TenantTransaction,
    private readonly audit: AuditTrail,
    private readonly mailer: Mailer,
  ) {}

  /** Refuses a password sign-in that a group's SSO-only rule forbids. */
  async assertPasswordAllowed(userId: string): Promise<void> {
    const blocked = (await this.enforcing(userId)).find((tenant) => !tenant.break_glass);
    if (blocked) {
      throw new SamlError(
        SamlErrorCode.SsoOnly,
        `${blocked.name} signs in through its identity provider: /v1/sso/saml/${blocked.slug}/login`,
      );
    }
  }

  /** After a break-glass admin's password + TOTP sign-in: the audit event and the mail, per group. */
  async recordSignIn(ctx: RequestContext, userId: string): Promise<void> {
    for (const tenant of (await this.enforcing(userId)).filter((row) => row.break_glass)) {
      await this.audit.record(ctx, tenant.tenant_id, {
        action: 'auth.sso.break_glass',
        subjectType: 'User',
        subjectId: userId,
        actorId: userId,
        actorRole: 'dealer_admin',
      });
      const admins = await tenantAdmins(this.transactions, tenant.tenant_id);
      const admin = admins.find((row) => row.userId === userId)?.email ?? userId;
      for (const other of admins.filter((row) => row.userId !== userId)) {
        try {
          await this.mailer.send({
            template: 'break-glass-sign-in',
            to: other.email,
            data: { tenantName: tenant.name, adminEmail: admin, at: new Date(), requestId: ctx.requestId },
          });
        } catch (error) {
          // The sign-in stands (it is in the audit trail); a mail that did not go is logged.
          this.logger.warn(
            `break-glass mail for tenant ${tenant.tenant_id} not sent: ${(error as Error).message}`,
          );
        }
      }
    }
  }

  private async enforcing(userId: string): Promise<EnforcingTenant[]> {
    const { rows } = await this.transactions.statement<EnforcingTenant>(
      { tenantId: null, stores: [], userId },
      'select tenant_id, slug, name, break_glass from app.sso_enforcement($1)',
      [userId],
    );
    return rows;
  }
}
