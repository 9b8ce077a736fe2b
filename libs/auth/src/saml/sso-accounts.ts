import { Injectable } from '@nestjs/common';
import { DatabaseError } from 'pg';
import { AuditTrail } from '@forecourt/audit';
import { newId, type RequestContext } from '@forecourt/core';
import { TenantTransaction } from '@forecourt/database';
import type { SamlConnection } from './saml-connections';
import type { SsoGrantDto } from './saml-connection.dto';
import { SamlError } from './saml-error';

/** Who the IdP says signed in. */
export interface SsoIdentity {
  email: string;
  name: string | null;
  groups: readonly string[];
}

/** The grant the connection's mapping gives these groups: the first matching rule, else the default. */
export function mappedGrant(connection: SamlConnection, groups: readonly string[]): SsoGrantDto | null {
  const member = new Set(groups);
  const rule = connection.roleMapping.find((candidate) => member.has(candidate.group));
  if (rule) return { role: rule.role, allStores: rule.allStores, storeIds: rule.storeIds };
  return connection.defaultRole;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const UNIQUE_VIOLATION = '23505';

/**
 * Just-in-time accounts: the first SSO sign-in creates the user (no password: the IdP owns the
 * credentials and MFA) and its membership from the mapping; every later one applies the mapping
 * again, so a group removed at the IdP removes the role here, and a user no rule maps any more
 * loses the membership and is refused. An existing account is linked only when nothing but this
 * tenant knows it (see `app.sso_account`): one tenant's IdP never signs in as another's user.
 */
@Injectable()
export class SsoAccounts {
  constructor(
    private readonly transactions: TenantTransaction,
    private readonly audit: AuditTrail,
  ) {}

  async provision(
    ctx: RequestContext,
    connection: SamlConnection,
    identity: SsoIdentity,
  ): Promise<{ userId: string }> {
    try {
      return await this.provisionOnce(ctx, connection, identity);
    } catch (error) {
      // Two first sign-ins of one new person at once: the other created the account (or its
      // membership) first. Once more, and it is an existing account.
      if (!(error instanceof DatabaseError && error.code === UNIQUE_VIOLATION)) throw error;
      return this.provisionOnce(ctx, connection, identity);
    }
  }

  private async provisionOnce(
    ctx: RequestContext,
    connection: SamlConnection,
    identity: SsoIdentity,
  ): Promise<{ userId: string }> {
    const email = identity.email.trim().toLowerCase();
    if (!EMAIL.test(email) || email.length > 320) {
      throw SamlError.refused('name_id_not_email');
    }
    const grant = mappedGrant(connection, identity.groups);
    const scope = { tenantId: connection.tenantId, stores: 'all' as const };
    const [account] = (
      await this.transactions.statement<{ id: string; status: string; linkable: boolean }>(
        scope,
        'select id, status, linkable from app.sso_account($1)',
        [email],
      )
    ).rows;
    if (account && !account.linkable) {
      throw SamlError.refused('account_conflict');
    }
    if (account && account.status !== 'active') {
      throw SamlError.refused('deactivated');
    }
    const userId = account?.id ?? newId();
    const outcome = await this.transactions.run({ ...scope, userId }, async (tx) => {
      if (!account) {
        await tx.query(`insert into users (id, email, name, sso_tenant_id) values ($1, $2, $3, $4)`, [
          userId,
          email,
          (identity.name ?? email).slice(0, 200),
          connection.tenantId,
        ]);
        await this.audit.append(tx, ctx, {
          action: 'user.create',
          subjectType: 'User',
          subjectId: userId,
          actorId: userId,
          reason: 'sso',
        });
      } else {
        await tx.query(
          `update users set sso_tenant_id = $2 where id = $1 and sso_tenant_id is distinct from $2`,
          [userId, connection.tenantId],
        );
      }
      const { rows } = await tx.query<{
        role: string;
        all_stores: boolean;
        store_ids: string[];
        status: string;
      }>(
        `select role, all_stores, store_ids, status from memberships where tenant_id = $1 and user_id = $2 for update`,
        [connection.tenantId, userId],
      );
      const current = rows[0];
      if (!grant) {
        if (current?.status === 'active') {
          await tx.query(
            `update memberships set status = 'deactivated', updated_at = now() where tenant_id = $1 and user_id = $2`,
            [connection.tenantId, userId],
          );
          await this.audit.append(tx, ctx, {
            action: 'membership.deactivate',
            subjectType: 'Membership',
            subjectId: userId,
            actorId: userId,
            reason: 'sso_unmapped',
          });
        }
        return 'unmapped' as const;
      }
      const same =
        current?.status === 'active' &&
        current.role === grant.role &&
        current.all_stores === grant.allStores &&
        [...current.store_ids].sort().join() === [...grant.storeIds].sort().join();
      if (!same) {
        await tx.query(
          `insert into memberships (tenant_id, id, user_id, role, all_stores, store_ids) values ($1, $2, $3, $4, $5, $6)
           on conflict (tenant_id, user_id) do update
             set role = excluded.role, all_stores = excluded.all_stores, store_ids = excluded.store_ids,
                 status = 'active', updated_at = now()`,
          [connection.tenantId, newId(), userId, grant.role, grant.allStores, grant.storeIds],
        );
        await this.audit.append(tx, ctx, {
          action: current ? 'membership.update' : 'membership.create',
          subjectType: 'Membership',
          subjectId: userId,
          actorId: userId,
          actorRole: grant.role,
          reason: 'sso',
          changedFields: current ? ['role', 'allStores', 'storeIds', 'status'] : null,
        });
      }
      await this.audit.append(tx, ctx, {
        action: 'auth.sso.signed_in',
        subjectType: 'User',
        subjectId: userId,
        actorId: userId,
        actorRole: grant.role,
      });
      return 'mapped' as const;
    });
    if (outcome === 'unmapped') {
      throw SamlError.refused('not_mapped');
    }
    return { userId };
  }
}
