import { Inject, Injectable } from '@nestjs/common';
import {
  AuthAttempts,
  AuthService,
  PasswordHasher,
  passwordProblem,
  randomSecret,
  sha256,
  type SignInStep,
} from '@forecourt/auth';
import { AuditTrail } from '@forecourt/audit';
import { APP_CONFIG, type AppConfig } from '@forecourt/config';
import { isUuid, newId, type RequestContext } from '@forecourt/core';
import { TenantTransaction, type TenantWork } from '@forecourt/database';
import { Mailer } from '@forecourt/mail';
import { DataSource } from 'typeorm';
import { assertStoresOfTenant } from './store-membership';
import { TenantError, TenantErrorCode } from './tenant-error';
import { InvitationDto } from './tenant.dto';

const INVITATION_TTL_MS = 7 * 24 * 3_600_000;

export interface NewInvitation {
  email: string;
  role: string;
  allStores: boolean;
  storeIds: string[];
}

/** An invitation as created: the token exists only here, on its way into the mail. */
export interface IssuedInvitation extends InvitationDto {
  token: string;
  inviterName: string;
}

/**
 * Invitations into a tenant and onto the platform staff. Single use, bound to the invited
 * e-mail, valid 7 days; the token travels only by mail (`<PUBLIC_URL>/invite?token=...`) and is
 * stored only as its hash. A tenant invitation's token starts with the tenant id, so accepting
 * it runs in that tenant's context like any other write.
 */
@Injectable()
export class Invitations {
  constructor(
    private readonly transactions: TenantTransaction,
    private readonly dataSource: DataSource,
    private readonly mailer: Mailer,
    private readonly passwords: PasswordHasher,
    private readonly auth: AuthService,
    private readonly attempts: AuthAttempts,
    private readonly audit: AuditTrail,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Inserts a tenant invitation, and its audit event, in the open transaction `tx`. */
  async insert(tx: TenantWork, ctx: RequestContext, invitation: NewInvitation): Promise<IssuedInvitation> {
    const tenantId = tx.scope.tenantId!;
    const actorId = ctx.principal!.userId;
    const secret = randomSecret();
    const id = newId();
    const expiresAt = new Date(Date.now() + INVITATION_TTL_MS);
    const email = invitation.email.trim().toLowerCase();
    await tx.query(
      `insert into invitations (tenant_id, id, email, role, all_stores, store_ids, token_hash, expires_at, invited_by)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        tenantId,
        id,
        email,
        invitation.role,
        invitation.allStores,
        invitation.storeIds,
        sha256(secret),
        expiresAt,
        actorId,
      ],
    );
    await this.audit.append(tx, ctx, {
      action: 'invitation.create',
      subjectType: 'Invitation',
      subjectId: id,
    });
    const inviter = await tx.query<{ name: string }>('select name from users where id = $1', [actorId]);
    return {
      id,
      email,
      role: invitation.role,
      expiresAt,
      token: `${tenantId}.${secret}`,
      inviterName: inviter.rows[0]?.name ?? 'Forecourt',
    };
  }

  /** A dealer_admin invites someone into its tenant. */
  async invite(ctx: RequestContext, dto: NewInvitation): Promise<InvitationDto> {
    const tenant = ctx.tenant!;
    if (dto.role === 'dealer_admin' && !dto.allStores) {
      throw new TenantError(
        TenantErrorCode.AdminNeedsAllStores,
        'allStores: a dealer_admin always has all stores',
      );
    }
    const { invitation, tenantName } = await this.transactions.run(
      { tenantId: tenant.tenantId, stores: 'all', userId: ctx.principal!.userId },
      async (tx) => {
        // Checked with allStores too: the invitation keeps the ids it was given, and another
        // tenant's store must never be recorded in this tenant's rows.
        await assertStoresOfTenant(tx, dto.storeIds);
        const name = await tx.query<{ name: string }>('select name from tenants where id = $1', [
          tenant.tenantId,
        ]);
        return {
          invitation: await this.insert(tx, ctx, dto),
          tenantName: name.rows[0]!.name,
        };
      },
    );
    await this.mail(invitation, tenantName, ctx);
    return {
      id: invitation.id,
      email: invitation.email,
      role: invitation.role,
      expiresAt: invitation.expiresAt,
    };
  }

  /** A platform owner invites platform staff. */
  async inviteStaff(ctx: RequestContext, dto: { email: string; role: string }): Promise<InvitationDto> {
    const secret = randomSecret();
    const id = newId();
    const expiresAt = new Date(Date.now() + INVITATION_TTL_MS);
    const email = dto.email.trim().toLowerCase();
    const actorId = ctx.principal!.userId;
    const inviterName = await this.transactions.run(
      { tenantId: null, stores: [], userId: actorId },
      async (tx) => {
        await tx.query(
          `insert into platform_invitations (id, email, role, token_hash, expires_at, invited_by)
         values ($1, $2, $3, $4, $5, $6)`,
          [id, email, dto.role, sha256(secret), expiresAt, actorId],
        );
        await this.audit.append(tx, ctx, {
          action: 'platform_invitation.create',
          subjectType: 'StaffInvitation',
          subjectId: id,
        });
        return (await tx.query<{ name: string }>('select name from users where id = $1', [actorId])).rows[0]
          ?.name;
      },
    );
    const invitation = {
      id,
      email,
      role: dto.role,
      expiresAt,
      token: `platform.${secret}`,
      inviterName: inviterName ?? 'Forecourt',
    };
    await this.mail(invitation, null, ctx);
    return { id, email, role: dto.role, expiresAt };
  }

  /** Sends the invitation mail; runs after the invitation committed. */
  async mail(invitation: IssuedInvitation, tenantName: string | null, _ctx: RequestContext): Promise<void> {
    try {
      await this.mailer.send({
        to: invitation.email,
        template: 'invitation',
        data: {
          inviteUrl: `${this.config.publicUrl}/invite?token=${encodeURIComponent(invitation.token)}`,
          tenantName,
          role: invitation.role,
          inviterName: invitation.inviterName,
          expiresAt: invitation.expiresAt,
        },
      });
    } catch {
      throw new TenantError(
        TenantErrorCode.MailUndeliverable,
        'The invitation was created but its mail could not be sent; invite again later',
      );
    }
  }

  /**
   * Accepts an invitation: creates the account (or, for an e-mail that has one, proves its
   * password), adds the membership or platform role, and answers with the MFA step. Counted by
   * the sign-in rate limits; any bad token answers the same 401.
   */
  accept(ctx: RequestContext, token: string, name: string, password: string): Promise<SignInStep> {
    return this.attempts.guard(ctx, 'invitation.accept', () => this.acceptOnce(ctx, token, name, password));
  }

  private async acceptOnce(
    ctx: RequestContext,
    token: string,
    name: string,
    password: string,
  ): Promise<SignInStep> {
    const dot = token.indexOf('.');
    const [owner, secret] = [token.slice(0, dot), token.slice(dot + 1)];
    if (dot < 0 || !/^[A-Za-z0-9_-]{43}$/.test(secret)) throw invalidInvitation();
    if (owner !== 'platform' && !isUuid(owner)) throw invalidInvitation();

    const [email] = await this.invitationEmail(owner, secret);
    if (!email) throw invalidInvitation();
    const existing = (
      await this.dataSource.query<{ id: string | null }[]>('select app.user_id_by_email($1) as id', [email])
    )[0]?.id;
    const userId = existing ?? newId();
    if (existing) {
      const [candidate] = await this.dataSource.query<{ password_hash: string | null }[]>(
        'select password_hash from app.sign_in_candidate($1)',
        [email],
      );
      if (!(await this.passwords.verify(candidate?.password_hash ?? null, password))) {
        throw new TenantError(TenantErrorCode.WrongPassword, 'This e-mail has an account: use its password');
      }
    } else {
      const problem = passwordProblem(password, email);
      if (problem) throw new TenantError(TenantErrorCode.WeakPassword, `password: ${problem}`);
    }
    const hash = existing ? null : await this.passwords.hash(password);
    const scope = { tenantId: owner === 'platform' ? null : owner, stores: 'all' as const, userId };

    const mfaEnabled = await this.transactions.run(scope, async (tx) => {
      const table = owner === 'platform' ? 'platform_invitations' : 'invitations';
      const claimed = await tx.query<{
        id: string;
        role: string;
        all_stores?: boolean;
        store_ids?: string[];
      }>(
        `update ${table} set accepted_at = now()
          where token_hash = $1 and accepted_at is null and expires_at > now()
          returning *`,
        [sha256(secret)],
      );
      const invitation = claimed.rows[0];
      if (!invitation) throw invalidInvitation();
      if (!existing) {
        await tx.query(`insert into users (id, email, name, password_hash) values ($1, $2, $3, $4)`, [
          userId,
          email,
          name.trim(),
          hash,
        ]);
      }
      if (owner === 'platform') {
        // Never a demotion: an owner accepting a support invitation stays an owner.
        await tx.query(
          `update users set platform_role = $2
            where id = $1 and (platform_role is null or $2 = 'platform_owner')`,
          [userId, invitation.role],
        );
      } else {
        await tx.query(
          `insert into memberships (tenant_id, id, user_id, role, all_stores, store_ids) values ($1, $2, $3, $4, $5, $6)
           on conflict (tenant_id, user_id) do update
             set role = excluded.role, all_stores = excluded.all_stores, store_ids = excluded.store_ids,
                 status = 'active', updated_at = now()`,
          [owner, newId(), userId, invitation.role, invitation.all_stores, invitation.store_ids],
        );
      }
      const platform = owner === 'platform';
      const actor = { actorId: userId, actorRole: invitation.role };
      await this.audit.append(tx, ctx, {
        action: platform ? 'platform_invitation.accept' : 'invitation.accept',
        subjectType: platform ? 'StaffInvitation' : 'Invitation',
        subjectId: invitation.id,
        ...actor,
      });
      await this.audit.append(tx, ctx, {
        action: platform ? 'auth.platform_role.granted' : 'membership.create',
        subjectType: platform ? 'User' : 'Membership',
        subjectId: userId,
        ...actor,
      });
      const state = await tx.query<{ mfa: boolean }>(
        'select mfa_enabled_at is not null as mfa from users where id = $1',
        [userId],
      );
      return state.rows[0]?.mfa ?? false;
    });
    return this.auth.mfaStep(userId, mfaEnabled);
  }

  /** The e-mail an unexpired, unaccepted invitation was sent to, if the token names one. */
  private async invitationEmail(owner: string, secret: string): Promise<[string | undefined]> {
    // Read as nobody in particular: a tenant invitation is visible in its tenant's context only.
    const probe = newId();
    const scope = { tenantId: owner === 'platform' ? null : owner, stores: [] as string[], userId: probe };
    const table = owner === 'platform' ? 'platform_invitations' : 'invitations';
    const { rows } = await this.transactions.statement<{ email: string }>(
      scope,
      `select email from ${table} where token_hash = $1 and accepted_at is null and expires_at > now()`,
      [sha256(secret)],
    );
    return [rows[0]?.email];
  }
}

function invalidInvitation(): TenantError {
  return new TenantError(
    TenantErrorCode.InvitationInvalid,
    'This invitation is invalid, expired or already used',
  );
}
