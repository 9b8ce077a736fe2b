import { Injectable } from '@nestjs/common';
import { AuditTrail } from '@forecourt/audit';
import type { RequestContext } from '@forecourt/core';
import type { TenantWork } from '@forecourt/database';

export type AuthEventName =
  | 'auth.login.succeeded'
  | 'auth.login.failed'
  | 'auth.mfa.enroll.succeeded'
  | 'auth.mfa.enroll.failed'
  | 'auth.mfa.activated'
  | 'auth.mfa.verify.succeeded'
  | 'auth.mfa.verify.failed'
  | 'auth.recovery_code.used'
  | 'auth.logout';

/**
 * Sign-in events, failed or not, into the audit trail: who (when known), from where and why it
 * failed — never the password, code or token. An event goes to the chain of every tenant the
 * person belongs to, and to the platform's chain for platform staff and unknown e-mails.
 */
@Injectable()
export class AuthEvents {
  constructor(private readonly audit: AuditTrail) {}

  /** Records `event`; in `tx` when it describes a change made there (so both commit or neither). */
  record(
    ctx: RequestContext,
    event: AuthEventName,
    userId: string | null,
    reason: string | null = null,
    tx: TenantWork | null = null,
  ): Promise<void> {
    return this.audit.appendAboutPerson(tx, ctx, userId, {
      action: event,
      subjectType: 'User',
      outcome: event.endsWith('.failed') ? 'denied' : 'allowed',
      reason,
    });
  }
}
