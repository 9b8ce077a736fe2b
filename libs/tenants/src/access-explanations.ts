import { Injectable } from '@nestjs/common';
import {
  AccessExplainer,
  type AccessExplanation,
  type Action,
  type Subject,
  type TenantRow,
} from '@forecourt/authz';
import { type RequestContext, RequestError, RequestErrorCode } from '@forecourt/core';
import { tenantScopeOf, TenantTransaction } from '@forecourt/database';
import { TenantError, TenantErrorCode } from './tenant-error';

/** How to find the row an explanation is about, for the subjects whose rows exist so far. */
const ROWS: Partial<Record<Subject, string>> = {
  User: `select tenant_id as "tenantId", user_id as "userId" from memberships where tenant_id = $1 and user_id = $2`,
  Store: `select tenant_id as "tenantId", id as "storeId" from stores where tenant_id = $1 and id = $2`,
  SupportGrant: `select tenant_id as "tenantId", requester_id as "userId" from support_grants where tenant_id = $1 and id = $2`,
};

@Injectable()
export class AccessExplanations {
  constructor(
    private readonly transactions: TenantTransaction,
    private readonly explainer: AccessExplainer,
  ) {}

  async explain(
    ctx: RequestContext,
    query: { userId: string; action: Action; subject: Subject; id?: string },
  ): Promise<AccessExplanation> {
    const scope = tenantScopeOf(ctx);
    let row: TenantRow | null = null;
    if (query.id) {
      const sql = ROWS[query.subject];
      if (!sql) {
        throw new RequestError(
          RequestErrorCode.InvalidQuery,
          `id: rows of ${query.subject} cannot be named yet`,
        );
      }
      const { rows } = await this.transactions.statement<TenantRow>({ ...scope, stores: 'all' }, sql, [
        scope.tenantId,
        query.id,
      ]);
      if (!rows[0])
        throw new TenantError(TenantErrorCode.RowNotFound, `id: no such ${query.subject} in this tenant`);
      row = rows[0];
    }
    return this.explainer.explain(scope.tenantId, query.userId, query.action, query.subject, row);
  }
}
