import { subject } from '@casl/ability';
import { permittedFieldsOf } from '@casl/ability/extra';
import { AbilityScopeError, abilityFor, type Actor, cachedAbilityFor } from './ability';
import { SUBJECT_FIELDS } from './role-matrix';

const tenantA = '01a20957-f6ab-727b-9493-e6542f1c70c7';
const tenantB = '01a20957-f6ab-727b-9493-e6542f1c70c8';
const storeIn = '01a20957-f6ab-727b-9493-000000000001';
const storeOut = '01a20957-f6ab-727b-9493-000000000002';
const me = '01a20957-f6ab-727b-9493-0000000000aa';
const someoneElse = '01a20957-f6ab-727b-9493-0000000000bb';

const dealer = (
  role: 'dealer_admin' | 'dealer_manager' | 'dealer_sales' | 'dealer_marketing',
  extra: Partial<Actor> = {},
) =>
  abilityFor({
    where: 'tenant',
    userId: me,
    platformRole: null,
    membership: { tenantId: tenantA, role, allStores: role === 'dealer_admin', storeIds: [storeIn] },
    ...extra,
  });
const fieldsOf = (ability: ReturnType<typeof abilityFor>, type: keyof typeof SUBJECT_FIELDS) =>
  permittedFieldsOf(ability, 'read', type, {
    fieldsFrom: (rule) => rule.fields ?? [...SUBJECT_FIELDS[type]],
  });

describe('abilityFor', () => {
  it('lets a dealer_admin manage its own tenant only', () => {
    const ability = dealer('dealer_admin');
    expect(ability.can('create', 'Invitation')).toBe(true);
    expect(ability.can('update', subject('User', { tenantId: tenantA }))).toBe(true);
    expect(ability.can('update', subject('User', { tenantId: tenantB }))).toBe(false);
    expect(ability.can('read', subject('Customer', { tenantId: tenantA, storeId: storeOut }))).toBe(true);
    expect(ability.can('create', 'Tenant')).toBe(false);
    expect(ability.can('read', 'Backup')).toBe(false);
  });

  it('keeps a manager to its stores', () => {
    const ability = dealer('dealer_manager');
    expect(ability.can('update', subject('Lead', { tenantId: tenantA, storeId: storeIn }))).toBe(true);
    expect(ability.can('update', subject('Lead', { tenantId: tenantA, storeId: storeOut }))).toBe(false);
    expect(ability.can('read', subject('Store', { tenantId: tenantA, storeId: storeOut }))).toBe(false);
    expect(ability.can('read', 'AuditEvent')).toBe(false);
  });

  it('lets a salesperson read and update only the leads assigned to them', () => {
    const ability = dealer('dealer_sales');
    const lead = (assignedUserId: string, storeId = storeIn) =>
      subject('Lead', { tenantId: tenantA, storeId, assignedUserId });
    expect(ability.can('read', lead(me))).toBe(true);
    expect(ability.can('update', lead(me))).toBe(true);
    expect(ability.can('read', lead(someoneElse))).toBe(false);
    expect(ability.can('read', lead(me, storeOut))).toBe(false);
    expect(ability.can('create', subject('Lead', { tenantId: tenantA, storeId: storeIn }))).toBe(true);
    expect(ability.can('read', subject('User', { tenantId: tenantA, userId: me }))).toBe(true);
    expect(ability.can('read', subject('User', { tenantId: tenantA, userId: someoneElse }))).toBe(false);
  });

  it("never shows marketing a customer's personal data unless the tenant allows it", () => {
    const redacted = fieldsOf(dealer('dealer_marketing'), 'Customer');
    for (const pii of ['name', 'email', 'phone', 'nationalId', 'driverLicense'])
      expect(redacted).not.toContain(pii);
    expect(redacted).toContain('consents');
    const allowed = fieldsOf(dealer('dealer_marketing', { marketingSeesPii: true }), 'Customer');
    expect(allowed).toEqual(expect.arrayContaining(['name', 'email', 'phone']));
    expect(dealer('dealer_marketing').can('read', 'Message')).toBe(false);
  });

  it('gives platform roles platform-wide grants on platform routes, and nothing inside a tenant without a grant', () => {
    const onPlatform = abilityFor({
      where: 'platform',
      userId: me,
      platformRole: 'platform_owner',
      membership: null,
    });
    expect(onPlatform.can('create', 'Tenant')).toBe(true);
    expect(onPlatform.can('read', 'Customer')).toBe(false);
    const inTenant = abilityFor({
      where: 'tenant',
      userId: me,
      platformRole: 'platform_owner',
      membership: null,
    });
    expect(inTenant.can('create', 'Tenant')).toBe(false);
    expect(inTenant.can('read', 'Customer')).toBe(false);
  });

  it('gives platform staff exactly the scope of an active support grant in its tenant', () => {
    const support = (scope: 'read' | 'support') =>
      abilityFor({
        where: 'tenant',
        userId: me,
        platformRole: 'platform_support',
        membership: null,
        supportGrant: { id: someoneElse, tenantId: tenantA, scope },
      });
    expect(support('read').can('read', subject('Lead', { tenantId: tenantA }))).toBe(true);
    expect(support('read').can('read', subject('Lead', { tenantId: tenantB }))).toBe(false);
    expect(support('read').can('read', 'Customer')).toBe(false);
    expect(support('read').can('reset_mfa', 'User')).toBe(false);
    expect(support('support').can('reset_mfa', subject('User', { tenantId: tenantA }))).toBe(true);
    expect(support('support').can('read', 'Lead')).toBe(false);
    expect(fieldsOf(support('read'), 'Lead')).not.toContain('customerName');
  });

  it('throws rather than grant when a scope input is missing', () => {
    expect(() =>
      abilityFor({
        where: 'tenant',
        userId: me,
        platformRole: null,
        membership: { tenantId: '', role: 'dealer_admin', allStores: true, storeIds: [] },
      }),
    ).toThrow(AbilityScopeError);
    expect(() =>
      abilityFor({
        where: 'tenant',
        platformRole: null,
        membership: { tenantId: tenantA, role: 'dealer_sales', allStores: true, storeIds: [] },
      }),
    ).toThrow(/user id is required/);
  });

  it('matches no store at all for a membership with an empty store list', () => {
    const ability = abilityFor({
      where: 'tenant',
      userId: me,
      platformRole: null,
      membership: { tenantId: tenantA, role: 'dealer_manager', allStores: false, storeIds: [] },
    });
    expect(ability.can('read', subject('Vehicle', { tenantId: tenantA, storeId: storeIn }))).toBe(false);
  });

  it('caches an ability per permission-relevant input, so a store change is a new ability at once', () => {
    const actor = (storeIds: string[]): Actor => ({
      where: 'tenant',
      userId: me,
      platformRole: null,
      membership: { tenantId: tenantA, role: 'dealer_manager', allStores: false, storeIds },
    });
    const first = cachedAbilityFor(actor([storeIn]));
    expect(cachedAbilityFor(actor([storeIn]))).toBe(first);
    const moved = cachedAbilityFor(actor([storeOut]));
    expect(moved).not.toBe(first);
    expect(moved.can('read', subject('Lead', { tenantId: tenantA, storeId: storeIn }))).toBe(false);
    expect(cachedAbilityFor({ ...actor([storeIn]), marketingSeesPii: true })).not.toBe(first);
  });

  it('says which matrix row allowed a decision', () => {
    const rule = dealer('dealer_sales').relevantRuleFor(
      'read',
      subject('Lead', { tenantId: tenantA, storeId: storeIn, assignedUserId: me }),
    );
    expect(rule?.reason).toBe('dealer_sales: read, update Lead, assigned to self');
  });
});
