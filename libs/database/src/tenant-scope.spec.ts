import { scopeSettings, TenantScope, TenantScopeError } from './tenant-scope';

const tenantId = '01a20957-f6ab-727b-9493-e6542f1c70c7';
const storeA = '01a20957-f6ab-727b-9493-e6542f1c70c8';
const storeB = '01a20957-f6ab-727b-9493-e6542f1c70c9';

describe('scopeSettings', () => {
  it('renders all stores as *', () => {
    expect(scopeSettings({ tenantId, stores: 'all' })).toEqual({ tenantId, storeIds: '*', userId: '' });
  });

  it('renders a store list as an array literal', () => {
    expect(scopeSettings({ tenantId, stores: [storeA, storeB], userId: storeA }).storeIds).toBe(
      `{${storeA},${storeB}}`,
    );
  });

  it('renders an empty store list as an empty array (no store visible)', () => {
    expect(scopeSettings({ tenantId, stores: [] }).storeIds).toBe('{}');
  });

  it('renders a user acting outside any tenant with no tenant and no stores', () => {
    expect(scopeSettings({ tenantId: null, stores: [], userId: storeA })).toEqual({
      tenantId: '',
      storeIds: '',
      userId: storeA,
    });
  });

  it.each([
    ['no tenant and no user', { tenantId: null, stores: [] }],
    ['a tenant id that is not a UUID', { tenantId: "x' or true --", stores: 'all' }],
    ['an empty tenant id', { tenantId: '', stores: 'all' }],
    ['a store id that is not a UUID', { tenantId, stores: [storeA, '*'] }],
    ['a missing store scope', { tenantId } as unknown as TenantScope],
    ['a user id that is not a UUID', { tenantId, stores: 'all', userId: 'admin' }],
  ])('refuses %s', (_case, scope) => {
    expect(() => scopeSettings(scope as TenantScope)).toThrow(TenantScopeError);
  });
});
