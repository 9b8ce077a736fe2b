import { Injectable } from '@nestjs/common';
import { AuditTrail } from '@forecourt/audit';
import { decodeCursor, type Page, pageOf, type RequestContext } from '@forecourt/core';
import { TenantTransaction, tenantScopeOf } from '@forecourt/database';

/** An invoice as metadata: what it is for and where the provider shows it, never how it was paid. */
export interface InvoiceDto {
  id: string;
  amountMinor: number;
  currency: string;
  status: string;
  hostedInvoiceUrl: string | null;
  issuedAt: string;
}

/** `GET /v1/tenants/:tenantId/billing/invoices`: the tenant's invoices, oldest first, by cursor. */
@Injectable()
export class Invoices {
  constructor(
    private readonly transactions: TenantTransaction,
    private readonly trail: AuditTrail,
  ) {}

  async list(ctx: RequestContext, limit: number, cursor: string | undefined): Promise<Page<InvoiceDto>> {
    const scope = tenantScopeOf(ctx);
    const { rows } = await this.transactions.statement<InvoiceDto>(
      scope,
      `select id, amount_minor::float8 as "amountMinor", currency, status,
              hosted_invoice_url as "hostedInvoiceUrl", issued_at as "issuedAt"
         from invoices where tenant_id = $1 and ($2::uuid is null or id > $2)
        order by id limit $3`,
      [scope.tenantId, decodeCursor(cursor), limit + 1],
    );
    const page = pageOf(rows, limit);
    await this.trail.record(ctx, scope.tenantId, {
      action: 'invoice.list',
      subjectType: 'Invoice',
      subjectIds: page.data.map((invoice) => invoice.id),
    });
    return page;
  }
}
