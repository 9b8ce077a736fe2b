import { CanActivate, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  AccessDenials,
  ANSWER_SHAPE,
  type AuthenticatedRequest,
  Clock,
  contextOf,
  isUuid,
  PRINCIPAL,
  TENANT_ACCESS,
} from '@forecourt/core';
import { type ActiveSupportGrant, AppAbility, cachedAbilityFor, MembershipScope } from './ability';
import { type TenantAccess, TenantAccessLookup } from './tenant-access';
import { AccessError, AccessErrorCode } from './access-error';
import { redactedSubject, redaction } from './redaction';
import { Action, Subject } from './role-matrix';

const REQUIREMENT = Symbol('can');
export const ABILITY = Symbol('ability');

/** What a read-only tenant may still do besides reading: settle its bill and take its data. */
const WRITABLE_WHEN_READ_ONLY = new Set<Subject>(['Subscription', 'Invoice', 'Export']);
/** Actions that change nothing (a read-only tenant keeps them). */
const READING_ACTIONS = new Set<Action>(['read', 'export', 'verify', 'download']);

/** Subjects a platform role reaches inside any tenant without membership or grant. */
const PLATFORM_WIDE_IN_TENANTS = new Set<Subject>(['SupportGrant', 'AccessDecision']);

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
 * in the tenant's chain when the caller is a member there, else in the platform's. On a route
 * that declares `@Redact`, it leaves the redaction of the answer for the request pipeline.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tenantAccess: TenantAccessLookup,
    private readonly denials: AccessDenials,
    private readonly clock: Clock,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const requirement = this.reflector.get<{ action: Action; subject: Subject } | undefined>(
      REQUIREMENT,
      context.getHandler(),
    );
    const request = context.switchToHttp().getRequest<
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
      const inTenant = request[TENANT_ACCESS];
      await this.denials.record(contextOf(request), {
        tenantId: inTenant?.tenantId ?? membership?.tenantId ?? null,
        actorRole: inTenant?.role ?? membership?.role ?? principal.platformRole,
        subjectType: requirement?.subject ?? 'Route',
        subjectId: isUuid(tenantId) ? tenantId : null,
        reason: detail,
      });
      return new AccessError(code, detail);
    };
    // Unreachable while the start-up check runs (PolicyCoverage); kept as the last line of defence.
    if (!requirement) throw await deny(AccessErrorCode.Forbidden, 'This route declares no permission', null);

    let membership: MembershipScope | null = null;
    let supportGrant: ActiveSupportGrant | null = null;
    let where: 'platform' | 'tenant' = tenantId === undefined ? 'platform' : 'tenant';
    let marketingSeesPii = false;
    let readOnly: ReadOnlyReason | null = null;
    if (tenantId !== undefined) {
      const access = isUuid(tenantId)
        ? await this.tenantAccess.current(tenantId, principal.userId, principal.permissionsVersion)
        : null;
      membership = access?.membership ?? null;
      marketingSeesPii = access?.marketingSeesPii ?? false;
      readOnly = access ? readOnlyReason(access, this.clock.now().getTime()) : null;
      supportGrant = principal.platformRole ? (access?.supportGrant ?? null) : null;
      // Support grants themselves (and explaining access) are the platform's to handle in any
      // tenant it is no member of, whether or not it holds a grant there (break-glass approval).
      const platformWide =
        !membership &&
        access?.exists === true &&
        principal.platformRole !== null &&
        PLATFORM_WIDE_IN_TENANTS.has(requirement.subject);
      if (platformWide) {
        where = 'platform';
        supportGrant = null;
      } else if (!membership && !supportGrant) {
        throw await deny(AccessErrorCode.NotFound, 'No such tenant', null);
      }
      request[TENANT_ACCESS] = {
        tenantId,
        role: membership?.role ?? principal.platformRole!,
        stores: !membership || membership.allStores ? 'all' : membership.storeIds,
        supportGrantId: membership ? null : (supportGrant?.id ?? null),
      };
    }

    if (membership && !membership.allStores) {
      const outside = storeIdsNamed(request).find((storeId) => !membership.storeIds.includes(storeId));
      if (outside !== undefined)
        throw await deny(AccessErrorCode.NotFound, 'No such store in your scope', membership);
    }

    const ability = cachedAbilityFor({
      where,
      userId: principal.userId,
      platformRole: principal.platformRole,
      membership,
      supportGrant: membership ? null : supportGrant,
      marketingSeesPii,
    });
    if (!ability.can(requirement.action, requirement.subject)) {
      throw await deny(
        AccessErrorCode.Forbidden,
        `Your role may not ${requirement.action} ${requirement.subject}`,
        membership,
      );
    }
    if (
      readOnly !== null &&
      !READING_ACTIONS.has(requirement.action) &&
      !WRITABLE_WHEN_READ_ONLY.has(requirement.subject)
    ) {
      throw await deny(readOnly.code, readOnly.detail, membership);
    }
    request[ABILITY] = ability;
    const redacts = redactedSubject(context.getHandler());
    if (redacts) request[ANSWER_SHAPE] = redaction(ability, redacts);
    return true;
  }
}

interface ReadOnlyReason {
  code: AccessErrorCode;
  detail: string;
}

/**
 * Why the tenant takes no changes now, if it doesn't: cancelled and past the period it paid for
 * (its grace, until deletion), or behind on payment past the billing grace window.
 */
function readOnlyReason(
  access: Pick<TenantAccess, 'readOnlyFrom' | 'graceFrom' | 'deleteAfter'>,
  now: number,
): ReadOnlyReason | null {
  if (access.graceFrom !== null && access.graceFrom <= now) {
    const deletion = access.deleteAfter === null ? '' : ` on ${new Date(access.deleteAfter).toISOString()}`;
    return {
      code: AccessErrorCode.InGrace,
      detail: `The tenant was cancelled: its data is read-only (sign-in, reading and export still work) until it is deleted${deletion}`,
    };
  }
  if (access.readOnlyFrom !== null && access.readOnlyFrom <= now) {
    return {
      code: AccessErrorCode.ReadOnly,
      detail: 'The tenant is read-only until its overdue payment is settled (the billing portal stays open)',
    };
  }
  return null;
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
