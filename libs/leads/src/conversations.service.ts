import { Injectable } from '@nestjs/common';
import { AuditTrail } from '@forecourt/audit';
import { type AppAbility, RowPolicy } from '@forecourt/authz';
import {
  decodeCursor,
  DEFAULT_PAGE_SIZE,
  newId,
  type Page,
  pageOf,
  type RequestContext,
} from '@forecourt/core';
import { isoTimestampSql, tenantScopeOf, TenantTransaction, type TenantWork } from '@forecourt/database';
import type { MessageDto, PostMessageDto } from './conversation.dto';
import { LeadsError, LeadsErrorCode } from './leads-error';

const MESSAGE_COLUMNS = `m.id, m.lead_id as "leadId", m.direction, m.channel, m.body, m.author_id as "authorId",
  ${isoTimestampSql('m.at')} as at`;

/**
 * A lead's conversation: what was said, inbound and outbound, kept as said (messages are only
 * added). Who may read or add to it follows the lead: sales only on the leads assigned to them;
 * marketing never (the matrix grants it nothing on messages). Reads are audited.
 */
@Injectable()
export class Conversations {
  constructor(
    private readonly transactions: TenantTransaction,
    private readonly audit: AuditTrail,
    private readonly rows: RowPolicy,
  ) {}

  async post(
    ctx: RequestContext,
    ability: AppAbility,
    leadId: string,
    body: PostMessageDto,
  ): Promise<MessageDto> {
    const scope = tenantScopeOf(ctx);
    return this.transactions.run(scope, async (tx) => {
      const lead = await this.lead(tx, ctx, ability, 'create', leadId);
      const { rows } = await tx.query<MessageDto>(
        `insert into messages as m (tenant_id, id, lead_id, store_id, direction, channel, body, author_id)
         values ($1, $2, $3, $4, $5, $6, $7, $8) returning ${MESSAGE_COLUMNS}`,
        [
          scope.tenantId,
          newId(),
          leadId,
          lead.storeId,
          body.direction ?? 'outbound',
          body.channel ?? 'email',
          body.body,
          ctx.principal?.userId ?? null,
        ],
      );
      await this.audit.append(tx, ctx, {
        action: 'message.create',
        subjectType: 'Message',
        subjectId: rows[0]!.id,
        subjectIds: [leadId],
        storeId: lead.storeId,
      });
      return rows[0]!;
    });
  }

  /** The conversation, oldest first; the ids returned are recorded. */
  async list(
    ctx: RequestContext,
    ability: AppAbility,
    leadId: string,
    limit = DEFAULT_PAGE_SIZE,
    cursor?: string,
  ): Promise<Page<MessageDto>> {
    const scope = tenantScopeOf(ctx);
    const { page, storeId } = await this.transactions.run(scope, async (tx) => {
      const lead = await this.lead(tx, ctx, ability, 'read', leadId);
      const { rows } = await tx.query<MessageDto>(
        `select ${MESSAGE_COLUMNS} from messages m
          where m.tenant_id = $1 and m.lead_id = $2 and ($3::uuid is null or m.id > $3)
          order by m.id limit $4`,
        [scope.tenantId, leadId, decodeCursor(cursor), limit + 1],
      );
      return { page: pageOf(rows, limit), storeId: lead.storeId };
    });
    await this.audit.record(ctx, scope.tenantId, {
      action: 'message.list',
      subjectType: 'Message',
      subjectIds: [leadId, ...page.data.map((message) => message.id)],
      storeId,
    });
    return page;
  }

  /** The lead the messages belong to, checked as the matrix's Message row of it. */
  private async lead(
    tx: TenantWork,
    ctx: RequestContext,
    ability: AppAbility,
    action: 'read' | 'create',
    leadId: string,
  ): Promise<{ storeId: string; assignedUserId: string | null }> {
    const { rows } = await tx.query<{ storeId: string; assignedUserId: string | null }>(
      `select store_id as "storeId", assigned_user_id as "assignedUserId" from leads where tenant_id = $1 and id = $2`,
      [tx.scope.tenantId, leadId],
    );
    if (!rows[0]) throw new LeadsError(LeadsErrorCode.LeadNotFound, 'No such lead');
    await this.rows.assert(ctx, ability, action, 'Message', {
      tenantId: tx.scope.tenantId!,
      ...rows[0],
      id: leadId,
    });
    return rows[0];
  }
}
