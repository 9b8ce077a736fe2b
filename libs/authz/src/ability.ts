import { AbilityBuilder, createMongoAbility, ForcedSubject, MongoAbility, MongoQuery } from '@casl/ability';
import {
  Action,
  type Grant,
  type GrantScope,
  isRole,
  type PlatformRole,
  type Reach,
  Role,
  ROLE_MATRIX,
  Subject,
} from './role-matrix';

/**
 * The fields conditions are written on. Every tenant-owned row carries `tenantId` and, where it
 * belongs to a store, `storeId` (a store's own `storeId` is its id); `assignedUserId`, `userId`
 * and `actorId` where the matrix speaks of "assigned to self", "own record", "caused by self".
 */
export interface TenantRow {
  tenantId?: string;
  storeId?: string | null;
  assignedUserId?: string | null;
  userId?: string | null;
  actorId?: string | null;
}

export type AppAbility = MongoAbility<[Action, Subject | (TenantRow & ForcedSubject<Subject>)]>;

/** A dealer membership as the ability needs it. */
export interface MembershipScope {
  tenantId: string;
  role: Role;
  allStores: boolean;
  storeIds: readonly string[];
}

/** An approved, unexpired support grant of a platform user in one tenant. */
export interface ActiveSupportGrant {
  id: string;
  tenantId: string;
  scope: GrantScope;
}

export interface Actor {
  /**
   * `platform`: a `/v1/platform` route — the platform role's platform-wide grants. `tenant`: a
   * route inside one tenant — the membership's grants there, and a platform role's only under
   * an active support grant (its platform-wide grants never reach into a tenant).
   */
  where: 'platform' | 'tenant';
  /** Needed by the self-referencing reaches (`assigned_to_self`, `own_record`, `caused_by_self`). */
  userId?: string;
  platformRole: PlatformRole | null;
  /** The membership in the tenant acted in. */
  membership: MembershipScope | null;
  supportGrant?: ActiveSupportGrant | null;
  /** The tenant's policy: may dealer_marketing see customers' personal data (default no). */
  marketingSeesPii?: boolean;
}

/** A scope input is missing: refusing to build beats an empty condition that matches every row. */
export class AbilityScopeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AbilityScopeError';
  }
}

function required(value: string | undefined | null, what: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new AbilityScopeError(`${what} is required`);
  return value;
}

/**
 * Compiles an actor's ability from the matrix. Conditions are always concrete (a tenant id, a
 * list of store ids, a user id): CASL's empty conditions object `{}` would match every row, so a
 * missing scope input throws instead of granting.
 */
export function abilityFor(actor: Actor): AppAbility {
  const builder = new AbilityBuilder<AppAbility>(createMongoAbility);
  // CASL cannot infer the row shape of a string subject; conditions here are on `TenantRow`.
  const can = builder.can as (
    action: Action[],
    subject: Subject,
    fields?: string[],
    conditions?: MongoQuery<TenantRow>,
  ) => { because(reason: string): unknown };

  const roles: Role[] = [];
  if (actor.platformRole) roles.push(actor.platformRole);
  if (actor.membership && actor.where === 'tenant') roles.push(actor.membership.role);

  for (const role of roles) {
    if (!isRole(role)) throw new AbilityScopeError(`unknown role ${String(role)}`);
    const platform = role === actor.platformRole;
    for (const grant of ROLE_MATRIX[role]) {
      if (!applies(grant, actor, platform)) continue;
      const conditions = conditionsFor(grant.reach, actor, platform, grant.underGrant !== undefined);
      const fields = grant.fields ? [...grant.fields] : undefined;
      const rule =
        conditions === null
          ? can([...grant.actions], grant.subject, fields)
          : can([...grant.actions], grant.subject, fields, conditions);
      rule.because(describeGrant(role, grant));
    }
  }
  return builder.build();
}

/** Whether a grant of the matrix takes part in this actor's ability at all. */
function applies(grant: Grant, actor: Actor, platform: boolean): boolean {
  if (grant.whenPiiVisible && !actor.marketingSeesPii) return false;
  if (!platform) return true;
  if (actor.where === 'platform') return grant.reach !== 'own_tenant' && !grant.underGrant;
  // In a tenant: never the platform-wide grants; the grant-bound ones only under that grant.
  if (grant.reach === 'everywhere') return false;
  return !grant.underGrant || actor.supportGrant?.scope === grant.underGrant;
}

/** The row conditions of a reach; null only for `everywhere` (platform-wide, no condition). */
function conditionsFor(
  reach: Reach,
  actor: Actor,
  platform: boolean,
  underGrant: boolean,
): MongoQuery<TenantRow> | null {
  if (platform) {
    switch (reach) {
      case 'everywhere':
        return null;
      case 'own_tenant':
        if (!underGrant) throw new AbilityScopeError('a platform role reaches a tenant only under a grant');
        return { tenantId: required(actor.supportGrant?.tenantId, 'the support grant tenant') };
      case 'own_record':
        return { userId: required(actor.userId, 'the user id') };
      case 'caused_by_self':
        return { actorId: required(actor.userId, 'the user id') };
      case 'stores_in_scope':
      case 'assigned_to_self':
        throw new AbilityScopeError(`a platform role has no ${reach} reach`);
    }
  }
  const membership = actor.membership;
  const tenantId = required(membership?.tenantId, 'the membership tenant');
  const inScope: MongoQuery<TenantRow> = membership!.allStores
    ? { tenantId }
    : { tenantId, storeId: { $in: [...membership!.storeIds] } };
  switch (reach) {
    case 'everywhere':
      throw new AbilityScopeError(`${membership!.role} cannot hold a platform-wide grant`);
    case 'own_tenant':
      return { tenantId };
    case 'stores_in_scope':
      return inScope;
    case 'assigned_to_self':
      return { ...inScope, assignedUserId: required(actor.userId, 'the user id') };
    case 'own_record':
      return { tenantId, userId: required(actor.userId, 'the user id') };
    case 'caused_by_self':
      return { tenantId, actorId: required(actor.userId, 'the user id') };
  }
}

/** The matrix row a rule came from, in words (what `explain` answers with). */
export function describeGrant(role: Role, grant: Grant): string {
  const under = grant.underGrant ? ` under an active ${grant.underGrant} support grant` : '';
  const fields = grant.fields ? ` (fields: ${grant.fields.join(', ')})` : '';
  const pii = grant.whenPiiVisible ? ' while the tenant lets marketing see personal data' : '';
  return `${role}: ${grant.actions.join(', ')} ${grant.subject}, ${grant.reach.replace(/_/g, ' ')}${under}${pii}${fields}`;
}

const CACHE_LIMIT = 10_000;
const cache = new Map<string, AppAbility>();

/**
 * {@link abilityFor}, remembered. The key is every input the ability is built from — role, store
 * scope, support grant, tenant policy — read fresh on each request, so a cached ability can never
 * outlive a change of role, stores or grant: the next request has a different key.
 */
export function cachedAbilityFor(actor: Actor): AppAbility {
  const key = JSON.stringify([
    actor.where,
    actor.userId,
    actor.platformRole,
    actor.membership && [
      actor.membership.tenantId,
      actor.membership.role,
      actor.membership.allStores,
      [...actor.membership.storeIds].sort(),
    ],
    actor.supportGrant && [actor.supportGrant.id, actor.supportGrant.tenantId, actor.supportGrant.scope],
    actor.marketingSeesPii ?? false,
  ]);
  const known = cache.get(key);
  if (known) {
    // Most recently used last: the oldest entry is the first to go.
    cache.delete(key);
    cache.set(key, known);
    return known;
  }
  const ability = abilityFor(actor);
  cache.set(key, ability);
  if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  return ability;
}
