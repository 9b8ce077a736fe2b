import { Injectable } from '@nestjs/common';
import { AuditCheckpoints, AuditSigningKey, type Checkpoint } from '@forecourt/audit';
import { type RequestContext } from '@forecourt/core';
import { tenantScopeOf, TenantTransaction } from '@forecourt/database';
import { Mailer } from '@forecourt/mail';
import { TenantError, TenantErrorCode } from './tenant-error';

/**
 * A tenant's own witness copies of its audit trail: a checkpoint signed on demand and, when
 * asked, mailed to every active dealer_admin — copies outside Forecourt's reach, against which a
 * later export proves that history was not rewritten or cut short.
 */
@Injectable()
export class CheckpointWitness {
  constructor(
    private readonly transactions: TenantTransaction,
    private readonly checkpoints: AuditCheckpoints,
    private readonly signingKey: AuditSigningKey,
    private readonly mailer: Mailer,
  ) {}

  async sign(ctx: RequestContext, { mail }: { mail: boolean }): Promise<Checkpoint & { mailedTo: number }> {
    const scope = tenantScopeOf(ctx);
    const checkpoint = await this.checkpoints.checkpoint(scope.tenantId);
    if (!checkpoint)
      throw new TenantError(TenantErrorCode.NothingToCheckpoint, 'The audit trail has no events yet');
    if (!mail) return { ...checkpoint, mailedTo: 0 };
    const { rows } = await this.transactions.statement<{ email: string; tenant: string }>(
      scope,
      `select u.email, t.name as tenant from memberships m
         join users u on u.id = m.user_id join tenants t on t.id = m.tenant_id
        where m.tenant_id = $1 and m.role = 'dealer_admin' and m.status = 'active' and u.status = 'active'
        order by u.email`,
      [scope.tenantId],
    );
    const verifierKeys = (await this.signingKey.published()).map((key) => key.verifierKey);
    try {
      for (const { email, tenant } of rows) {
        await this.mailer.send({
          to: email,
          template: 'audit-checkpoint',
          data: { tenantName: tenant, seq: checkpoint.seq, note: checkpoint.note, verifierKeys },
        });
      }
    } catch {
      throw new TenantError(
        TenantErrorCode.MailUndeliverable,
        'The checkpoint was signed but its mail could not be sent; ask again later',
      );
    }
    return { ...checkpoint, mailedTo: rows.length };
  }
}
