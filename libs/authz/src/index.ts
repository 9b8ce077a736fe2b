export {
  abilityFor,
  cachedAbilityFor,
  describeGrant,
  type ActiveSupportGrant,
  type Actor,
  type AppAbility,
  type MembershipScope,
  type TenantRow,
} from './ability';
export { AccessError, AccessErrorCode } from './access-error';
export { ABILITY, AccessGuard, Can, declaredPermission } from './access.guard';
export { AuthzModule } from './authz.module';
export { PolicyCoverageError, WithoutPolicy } from './policy-coverage';
export { type Action, isRole, type Role, ROLE_MATRIX, ROLES, type Subject, SUBJECTS } from './role-matrix';
export { CurrentAbility, RowPolicy } from './row-policy';
export {
  accessibleWhere,
  type RowColumns,
  type SqlCondition,
  UntranslatableRuleError,
} from './sql-condition';
export { readableFields, Redact } from './redaction';
export { AccessExplainer, type AccessExplanation } from './access-explainer';
export { ACTIONS, isAction, isSubject } from './role-matrix';
