import { AbilityBuilder, createMongoAbility, ForcedSubject, MongoAbility, MongoQuery } from '@casl/ability';
import { Action, isRole, Role, ROLE_MATRIX, Subject } from './role-matrix';

/** The fields conditions are written on: every tenant-owned row has them. */
export interface TenantRow {
  tenantId: string;
  storeId?: string | null;
}

export type AppAbility = MongoAbility<[Action, Subject | (TenantRow & ForcedSubject<Subject>)]>;

/** A dealer membership as the ability needs it. */
export interface MembershipScope {
  tenantId: string;
  role: Role;
  allStores: boolean;
  storeIds: readonly string[];
}

export interface Actor {
  platformRole: Role | null;
  membership: MembershipScope | null;
}

/**
 * Compiles an actor's ability from the matrix. Conditions are always concrete (a tenant id, a
 * list of store ids): an empty conditions object would match every row, so a missing scope input
 * throws instead of granting.
 */
export function abilityFor(actor: Actor): AppAbility {
  const builder = new AbilityBuilder<AppAbility>(createMongoAbility);
  // CASL cannot infer the row shape of a string subject; conditions here are on `TenantRow`.
  const can = builder.can as (action: Action, subject: Subject, conditions?: MongoQuery<TenantRow>) => void;
  const roles: Role[] = [];
  if (actor.platformRole) roles.push(actor.platformRole);
  if (actor.membership) roles.push(actor.membership.role);

  for (const role of roles) {
    if (!isRole(role)) throw new Error(`unknown role ${String(role)}`);
    for (const { action, subject, reach } of ROLE_MATRIX[role]) {
      if (reach === 'everywhere') {
        if (role !== actor.platformRole) throw new Error(`${role} cannot hold a platform-wide grant`);
        can(action, subject);
        continue;
      }
      const membership = actor.membership;
      if (!membership?.tenantId) throw new Error(`${role} grant needs a tenant`);
      if (reach === 'own_tenant' || membership.allStores) {
        can(action, subject, { tenantId: membership.tenantId });
      } else {
        can(action, subject, { tenantId: membership.tenantId, storeId: { $in: [...membership.storeIds] } });
      }
    }
  }
  return builder.build();
}
