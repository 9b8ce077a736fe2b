import { Injectable } from '@nestjs/common';
import { AuditTrail } from '@forecourt/audit';
import { type AppAbility, RowPolicy } from '@forecourt/authz';
import { newId, type RequestContext } from '@forecourt/core';
import { isoTimestampSql, tenantScopeOf, TenantTransaction, type TenantWork } from '@forecourt/database';
import { CURRENT_CONSENTS } from './consent';
import type { ConsentEventDto, ConsentLedgerDto, ConsentStateDto, RecordConsentDto } from './customer.dto';
import { LeadsError, LeadsErrorCode } from './leads-error';

const EVENT_COLUMNS = `e.id, e.channel, e.purpose, e.status, e.source, e.actor_id as "actorId",
  ${isoTimestampSql('e.at')} as at`;

/**
 * A customer's consent, per channel and purpose, as an append-only ledger of grants and
 * withdrawals (the database refuses to change or remove an event). The current state is derived
 * from it; each event also goes to the audit trail, in the same transaction.
 */
@Injectable()
export class ConsentLedger {
  constructor(
    private readonly transactions: TenantTransaction,
    private readonly audit: AuditTrail,
    private readonly rows: RowPolicy,
  ) {}

  async record(
    ctx: RequestContext,
    ability: AppAbility,
    customerId: string,
    body: RecordConsentDto,
  ): Promise<ConsentEventDto> {
    const scope = tenantScopeOf(ctx);
    return this.transactions.run(scope, async (tx) => {
      const storeId = await this.storeOf(tx, ctx, ability, 'update', customerId);
      const { rows } = await tx.query<ConsentEventDto>(
        `insert into consent_events as e (tenant_id, id, customer_id, store_id, channel, purpose, status, source, actor_id)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning ${EVENT_COLUMNS}`,
        [
          scope.tenantId,
          newId(),
          customerId,
          storeId,
          body.channel,
          body.purpose,
          body.status,
          body.source,
          ctx.principal?.userId ?? null,
        ],
      );
      await this.audit.append(tx, ctx, {
        action: `consent.${body.status}`,
        subjectType: 'Customer',
        subjectId: customerId,
        storeId,
        reason: `${body.channel} ${body.purpose}`,
      });
      return rows[0]!;
    });
  }

  /** The current state and the whole history; consent is visible even to roles without PII. */
  async ledger(ctx: RequestContext, ability: AppAbility, customerId: string): Promise<ConsentLedgerDto> {
    const scope = tenantScopeOf(ctx);
    return this.transactions.run(scope, async (tx) => {
      await this.storeOf(tx, ctx, ability, 'read', customerId);
      const current = await tx.query<{ consents: ConsentStateDto[] }>(
        `select ${CURRENT_CONSENTS} as consents from customers c where c.tenant_id = $1 and c.id = $2`,
        [scope.tenantId, customerId],
      );
      const history = await tx.query<ConsentEventDto>(
        `select ${EVENT_COLUMNS} from consent_events e where e.tenant_id = $1 and e.customer_id = $2 order by e.at, e.id`,
        [scope.tenantId, customerId],
      );
      return { current: current.rows[0]!.consents, history: history.rows };
    });
  }

  private async storeOf(
    tx: TenantWork,
    ctx: RequestContext,
    ability: AppAbility,
    action: 'read' | 'update',
    customerId: string,
  ): Promise<string> {
    const { rows } = await tx.query<{ storeId: string }>(
      `select store_id as "storeId" from customers where tenant_id = $1 and id = $2${action === 'update' ? ' for share' : ''}`,
      [tx.scope.tenantId, customerId],
    );
    if (!rows[0]) throw new LeadsError(LeadsErrorCode.CustomerNotFound, 'No such customer');
    await this.rows.assert(ctx, ability, action, 'Customer', {
      tenantId: tx.scope.tenantId!,
      storeId: rows[0].storeId,
      id: customerId,
    });
    return rows[0].storeId;
  }
}
