import { Injectable } from '@nestjs/common';
import { subject as subjectOf } from '@casl/ability';
import { abilityFor, type TenantRow } from './ability';
import type { Action, Subject } from './role-matrix';
import { TenantAccessLookup } from './tenant-access';

export interface AccessExplanation {
  allowed: boolean;
  /** Why, in words. */
  reason: string;
  /** The matrix row that decided, or null when none grants it (the decision is then "no"). */
  rule: string | null;
}

/**
 * Answers "may this person do this here, and why": the person's ability in the tenant is built
 * exactly as the access guard builds it, and the decision names the matrix row behind it.
 */
@Injectable()
export class AccessExplainer {
  constructor(private readonly lookup: TenantAccessLookup) {}

  async explain(
    tenantId: string,
    userId: string,
    action: Action,
    type: Subject,
    row: TenantRow | null,
  ): Promise<AccessExplanation> {
    const access = await this.lookup.lookup(tenantId, userId);
    const platformRole = access.membership ? null : await this.lookup.platformRoleOf(tenantId, userId);
    const supportGrant = platformRole ? access.supportGrant : null;
    if (!access.membership && !supportGrant) {
      return {
        allowed: false,
        reason: 'not a member of this tenant, and no active support grant here',
        rule: null,
      };
    }
    const ability = abilityFor({
      where: 'tenant',
      userId,
      platformRole,
      membership: access.membership,
      supportGrant,
      marketingSeesPii: access.marketingSeesPii,
    });
    const target = row ? subjectOf(type, { ...row }) : type;
    const allowed = ability.can(action, target);
    const rule = ability.relevantRuleFor(action, target);
    const who = access.membership
      ? `as ${access.membership.role}`
      : `as ${platformRole} under support grant ${supportGrant!.id}`;
    if (allowed) {
      return {
        allowed,
        reason: `allowed ${who}${row ? '' : ' (for some rows; no row was named)'}`,
        rule: rule?.reason ?? null,
      };
    }
    const anyRule = ability.rulesFor(action, type)[0];
    return {
      allowed,
      reason: anyRule
        ? `refused ${who}: the rule that grants ${action} ${type} does not cover this row`
        : `refused ${who}: no rule of the matrix grants ${action} ${type}`,
      rule: anyRule?.reason ?? null,
    };
  }
}
