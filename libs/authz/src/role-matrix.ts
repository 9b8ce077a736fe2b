/**
 * The role matrix of DESIGN §3, as data: the single source of every access decision. This is
 * its first part — the platform_owner, platform_support and dealer_admin rows for the subjects
 * that exist so far; the other roles and subjects follow with the authorization issue.
 */
export const ROLES = [
  'platform_owner',
  'platform_support',
  'dealer_admin',
  'dealer_manager',
  'dealer_sales',
  'dealer_marketing',
] as const;
export type Role = (typeof ROLES)[number];

export const ACTIONS = ['manage', 'create', 'read', 'update', 'delete', 'revoke_sessions', 'export'] as const;
export type Action = (typeof ACTIONS)[number];

export const SUBJECTS = ['Tenant', 'Store', 'User', 'Invitation', 'StaffInvitation', 'AuditEvent'] as const;
export type Subject = (typeof SUBJECTS)[number];

/**
 * Where a grant applies: `everywhere` (platform-wide), `own_tenant` (rows of the membership's
 * tenant), `stores_in_scope` (rows of the tenant in the membership's stores).
 */
export type Reach = 'everywhere' | 'own_tenant' | 'stores_in_scope';

export interface Grant {
  action: Action;
  subject: Subject;
  reach: Reach;
}

const grant = (action: Action, subject: Subject, reach: Reach): Grant => ({ action, subject, reach });

export const ROLE_MATRIX: Record<Role, readonly Grant[]> = {
  platform_owner: [
    grant('manage', 'Tenant', 'everywhere'),
    grant('manage', 'StaffInvitation', 'everywhere'),
    // The platform's own chain; a tenant's chain is reached only through that tenant's routes.
    grant('read', 'AuditEvent', 'everywhere'),
    grant('export', 'AuditEvent', 'everywhere'),
  ],
  platform_support: [grant('read', 'Tenant', 'everywhere')],
  dealer_admin: [
    grant('read', 'Tenant', 'own_tenant'),
    grant('update', 'Tenant', 'own_tenant'),
    grant('manage', 'Store', 'own_tenant'),
    grant('manage', 'User', 'own_tenant'),
    grant('manage', 'Invitation', 'own_tenant'),
    grant('read', 'AuditEvent', 'own_tenant'),
    grant('export', 'AuditEvent', 'own_tenant'),
  ],
  // Completed by the authorization issue; until then these roles reach nothing here.
  dealer_manager: [],
  dealer_sales: [],
  dealer_marketing: [],
};

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}
