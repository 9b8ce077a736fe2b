import type { TenantTransaction } from '@forecourt/database';

/** The active dealer_admins of a tenant, with their e-mail: whom its SSO mails go to. */
export async function tenantAdmins(
  transactions: TenantTransaction,
  tenantId: string,
): Promise<{ userId: string; email: string }[]> {
  const { rows } = await transactions.statement<{ userId: string; email: string }>(
    { tenantId, stores: 'all' },
    `select u.id as "userId", u.email from memberships m join users u on u.id = m.user_id
      where m.tenant_id = $1 and m.role = 'dealer_admin' and m.status = 'active' and u.status = 'active'`,
    [tenantId],
  );
  return rows;
}
