import { subject } from '@casl/ability';
import { abilityFor } from './ability';

const tenantA = '01a20957-f6ab-727b-9493-e6542f1c70c7';
const tenantB = '01a20957-f6ab-727b-9493-e6542f1c70c8';

describe('abilityFor', () => {
  it('lets a dealer_admin manage users and stores of its own tenant only', () => {
    const ability = abilityFor({
      platformRole: null,
      membership: { tenantId: tenantA, role: 'dealer_admin', allStores: true, storeIds: [] },
    });
    expect(ability.can('create', 'Invitation')).toBe(true);
    expect(ability.can('update', subject('User', { tenantId: tenantA }))).toBe(true);
    expect(ability.can('update', subject('User', { tenantId: tenantB }))).toBe(false);
    expect(ability.can('create', 'Tenant')).toBe(false);
    expect(ability.can('create', 'StaffInvitation')).toBe(false);
  });

  it('lets a platform_owner create tenants and staff invitations, but not reach into a tenant', () => {
    const ability = abilityFor({ platformRole: 'platform_owner', membership: null });
    expect(ability.can('create', 'Tenant')).toBe(true);
    expect(ability.can('create', 'StaffInvitation')).toBe(true);
    expect(ability.can('read', 'Store')).toBe(false);
    expect(ability.can('read', 'User')).toBe(false);
  });

  it('gives platform_support read of tenants only', () => {
    const ability = abilityFor({ platformRole: 'platform_support', membership: null });
    expect(ability.can('read', 'Tenant')).toBe(true);
    expect(ability.can('create', 'Tenant')).toBe(false);
  });

  it('gives the roles the next issue completes nothing yet (deny by default)', () => {
    const ability = abilityFor({
      platformRole: null,
      membership: { tenantId: tenantA, role: 'dealer_sales', allStores: true, storeIds: [] },
    });
    expect(ability.rules).toEqual([]);
  });

  it('throws rather than grant when a tenant grant has no tenant', () => {
    expect(() =>
      abilityFor({
        platformRole: null,
        membership: { tenantId: '', role: 'dealer_admin', allStores: true, storeIds: [] },
      }),
    ).toThrow(/needs a tenant/);
  });
});
