import { CanActivate, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  AccessDenials,
  type AuthenticatedRequest,
  contextOf,
  isUuid,
  PRINCIPAL,
  TENANT_ACCESS,
} from '@forecourt/core';
import { TenantTransaction } from '@forecourt/database';
import { abilityFor, AppAbility, MembershipScope } from './ability';
import { AccessError, AccessErrorCode } from './access-error';
import { Action, isRole, Subject } from './role-matrix';

const REQUIREMENT = Symbol('can');
export const ABILITY = Symbol('ability');

/** The permission a route handler declares with `@Can`, if any. */
export function declaredPermission(handler: object): { action: Action; subject: Subject } | undefined {
  return Reflect.getMetadata(REQUIREMENT, handler) as { action: Action; subject: Subject } | undefined;
}

/** What a route requires: checked by {@link AccessGuard} against the caller's ability. */
export const Can = (action: Action, subject: Subject) => SetMetadata(REQUIREMENT, { action, subject });

/**
 * The API wall: after the session guard, resolves the caller's membership in the path's tenant
 * (none: 404, so another tenant's existence never shows), compiles the ability from the role
 * matrix, and refuses a route the ability does not allow (403). A route without `@Can` is refused.
 * Every refusal of a signed-in caller is an `authz.denied` audit event, durable before the answer:
 * in the tenant's chain when the caller is a member there, else in the platform's.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly transactions: TenantTransaction,
    private readonly denials: AccessDenials,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const requirement = this.reflector.get<{ action: Action; subject: Subject } | undefined>(
      REQUIREMENT,
      context.getHandler(),
    );
    const request = context
      .switchToHttp()
      .getRequest<
        AuthenticatedRequest & {
          params: Record<string, string>;
          query: unknown;
          body: unknown;
          [ABILITY]?: AppAbility;
        }
      >();
    const principal = request[PRINCIPAL];
    if (!principal) throw new AccessError(AccessErrorCode.Unauthenticated, 'Sign in first');

    const tenantId = request.params.tenantId;
    const deny = async (code: AccessErrorCode, detail: string, membership: MembershipScope | null) => {
      await this.denials.record(contextOf(request), {
        tenantId: membership?.tenantId ?? null,
        actorRole: membership?.role ?? principal.platformRole,
        subjectType: requirement?.subject ?? 'Route',
        subjectId: isUuid(tenantId) ? tenantId : null,
        reason: detail,
      });
      return new AccessError(code, detail);
    };
    // Unreachable while the start-up check runs (PolicyCoverage); kept as the last line of defence.
    if (!requirement) throw await deny(AccessErrorCode.Forbidden, 'This route declares no permission', null);

    let membership: MembershipScope | null = null;
    if (tenantId !== undefined) {
      membership = isUuid(tenantId) ? await this.membership(tenantId, principal.userId) : null;
      if (!membership) throw await deny(AccessErrorCode.NotFound, 'No such tenant', null);
      request[TENANT_ACCESS] = {
        tenantId,
        role: membership.role,
        stores: membership.allStores ? 'all' : membership.storeIds,
      };
    }

    if (membership && !membership.allStores) {
      const outside = storeIdsNamed(request).find((storeId) => !membership.storeIds.includes(storeId));
      if (outside !== undefined)
        throw await deny(AccessErrorCode.NotFound, 'No such store in your scope', membership);
    }

    const ability = abilityFor({
      where: tenantId === undefined ? 'platform' : 'tenant',
      userId: principal.userId,
      platformRole: principal.platformRole,
      membership,
    });
    if (!ability.can(requirement.action, requirement.subject)) {
      throw await deny(
        AccessErrorCode.Forbidden,
        `Your role may not ${requirement.action} ${requirement.subject}`,
        membership,
      );
    }
    request[ABILITY] = ability;
    return true;
  }

  private async membership(tenantId: string, userId: string): Promise<MembershipScope | null> {
    const { rows } = await this.transactions.statement<{
      role: string;
      all_stores: boolean;
      store_ids: string[];
    }>(
      { tenantId, stores: [], userId },
      `select m.role, m.all_stores, m.store_ids from memberships m join tenants t on t.id = m.tenant_id
        where m.tenant_id = $1 and m.user_id = $2 and m.status = 'active' and t.status <> 'deleted'`,
      [tenantId, userId],
    );
    const row = rows[0];
    if (!row || !isRole(row.role)) return null;
    return { tenantId, role: row.role, allStores: row.all_stores, storeIds: row.store_ids };
  }
}

/**
 * The store ids a request names — `storeId` in the path, the query or the body — so that a
 * store-scoped member is refused one outside its stores before any handler runs. (That a store
 * belongs to the tenant at all is the service's check.)
 */
function storeIdsNamed(request: { params: Record<string, string>; query: unknown; body: unknown }): string[] {
  const named: unknown[] = [request.params.storeId];
  for (const source of [request.query, request.body]) {
    if (source && typeof source === 'object' && !Array.isArray(source))
      named.push((source as { storeId?: unknown }).storeId);
  }
  return named.filter((value): value is string => typeof value === 'string');
}
