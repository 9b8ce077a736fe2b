import { Injectable } from '@nestjs/common';
import { newId, type RequestContext } from '@forecourt/core';
import { DataSource } from 'typeorm';

export type AuthEventName =
  | 'auth.login'
  | 'auth.mfa.enroll'
  | 'auth.mfa.verify'
  | 'auth.recovery_code.used'
  | 'auth.logout'
  | 'auth.platform_role.granted';

/**
 * Sign-in events, failed or not, with who (when known), from where and why it failed — never
 * the password, code or token. Kept in `auth_events` until the audit trail takes them over.
 */
@Injectable()
export class AuthEvents {
  constructor(private readonly dataSource: DataSource) {}

  async record(
    ctx: RequestContext,
    event: AuthEventName,
    outcome: 'succeeded' | 'failed' | 'refused',
    userId: string | null,
    reason: string | null = null,
  ): Promise<void> {
    await this.dataSource.query(
      `insert into auth_events (id, user_id, event, outcome, reason, ip, user_agent, request_id)
       values ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [newId(), userId, event, outcome, reason, ctx.ip, ctx.userAgent?.slice(0, 512) ?? null, ctx.requestId],
    );
  }
}
