import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@forecourt/config';
import { DomainError, type RequestContext } from '@forecourt/core';
import { DataSource } from 'typeorm';
import { AuthError, AuthErrorCode } from './auth-error';

export type AuthEndpoint = 'login' | 'mfa.verify' | 'invitation.accept' | 'sso.acs';

/**
 * Sign-in rate limits per client IP, counted in PostgreSQL so every instance shares them:
 * `authFailedLimit` failed attempts, and `authAttemptCeiling` attempts of any outcome, within
 * `authWindowSeconds`. Successful sign-ins don't count towards the first limit, so a whole
 * showroom behind one NAT address can sign in at opening time.
 */
@Injectable()
export class AuthAttempts {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Throws a 429 (with Retry-After) when this IP is over a limit. */
  async assertAllowed(ctx: RequestContext): Promise<void> {
    const ip = ctx.ip ?? '0.0.0.0';
    const [counts] = await this.dataSource.query<
      { failed: string; total: string; retry_after: string | null }[]
    >(
      `select count(*) filter (where failed) as failed, count(*) as total,
              ceil(extract(epoch from min(at) + make_interval(secs => $2) - now())) as retry_after
         from auth_attempts where ip = $1 and at > now() - make_interval(secs => $2)`,
      [ip, this.config.authWindowSeconds],
    );
    const failed = Number(counts?.failed ?? 0);
    const total = Number(counts?.total ?? 0);
    if (failed >= this.config.authFailedLimit || total >= this.config.authAttemptCeiling) {
      const retryAfter = Math.max(1, Number(counts?.retry_after ?? this.config.authWindowSeconds));
      throw new AuthError(
        AuthErrorCode.RateLimited,
        'Too many sign-in attempts from this address; try again later',
        retryAfter,
      );
    }
  }

  async record(ctx: RequestContext, endpoint: AuthEndpoint, failed: boolean): Promise<void> {
    await this.dataSource.query(
      `with added as (insert into auth_attempts (ip, endpoint, failed) values ($1, $2, $3))
       delete from auth_attempts where at < now() - make_interval(secs => $4 * 2)`,
      [ctx.ip ?? '0.0.0.0', endpoint, failed, this.config.authWindowSeconds],
    );
  }

  /** Runs a sign-in step under the limits; a step that throws a 401 counts as failed. */
  async guard<T>(ctx: RequestContext, endpoint: AuthEndpoint, step: () => Promise<T>): Promise<T> {
    await this.assertAllowed(ctx);
    try {
      const result = await step();
      await this.record(ctx, endpoint, false);
      return result;
    } catch (error) {
      // Any refusal of the credentials presented (401) counts, whichever library raised it.
      const failed = error instanceof DomainError && error.status === 401;
      await this.record(ctx, endpoint, failed);
      throw error;
    }
  }
}
