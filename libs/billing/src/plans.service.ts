import { Injectable } from '@nestjs/common';
import { AuditTrail, PLATFORM_CHAIN } from '@forecourt/audit';
import { newId, type RequestContext } from '@forecourt/core';
import { TenantTransaction } from '@forecourt/database';
import { BillingError, BillingErrorCode } from './billing-error';
import type { CreatePlanDto, PlanDto, PlanInputDto } from './plan.dto';

const PLAN_COLUMNS = `code, name, price_per_store_minor::int as "pricePerStoreMinor", currency,
  jsonb_strip_nulls(jsonb_build_object('stores', max_stores, 'users', max_users)) as limits`;

/** The platform's price list. Each change is audited in the platform's trail, with the change. */
@Injectable()
export class Plans {
  constructor(
    private readonly transactions: TenantTransaction,
    private readonly trail: AuditTrail,
  ) {}

  async list(): Promise<PlanDto[]> {
    const { rows } = await this.transactions.statement<PlanDto>(
      { tenantId: PLATFORM_CHAIN, stores: 'all' },
      `select ${PLAN_COLUMNS} from plans order by code`,
    );
    return rows;
  }

  async create(ctx: RequestContext, input: CreatePlanDto): Promise<PlanDto> {
    return this.transactions.run({ tenantId: PLATFORM_CHAIN, stores: 'all' }, async (tx) => {
      const { rows } = await tx.query<PlanDto>(
        `insert into plans (id, code, name, price_per_store_minor, currency, max_stores, max_users)
         values ($1, $2, $3, $4, $5, $6, $7) on conflict (code) do nothing returning ${PLAN_COLUMNS}`,
        [
          newId(),
          input.code,
          input.name,
          input.pricePerStoreMinor,
          input.currency,
          input.limits.stores ?? null,
          input.limits.users ?? null,
        ],
      );
      if (!rows[0])
        throw new BillingError(
          BillingErrorCode.PlanExists,
          `A plan with the code ${input.code} exists already`,
        );
      await this.trail.append(tx, ctx, { action: 'plan.create', subjectType: 'Plan', reason: input.code });
      return rows[0];
    });
  }

  async update(ctx: RequestContext, code: string, input: PlanInputDto): Promise<PlanDto> {
    return this.transactions.run({ tenantId: PLATFORM_CHAIN, stores: 'all' }, async (tx) => {
      const { rows } = await tx.query<PlanDto>(
        `update plans set name = $2, price_per_store_minor = $3, currency = $4, max_stores = $5, max_users = $6
          where code = $1 returning ${PLAN_COLUMNS}`,
        [
          code,
          input.name,
          input.pricePerStoreMinor,
          input.currency,
          input.limits.stores ?? null,
          input.limits.users ?? null,
        ],
      );
      if (!rows[0]) throw new BillingError(BillingErrorCode.NoPlan, `There is no plan with the code ${code}`);
      await this.trail.append(tx, ctx, {
        action: 'plan.update',
        subjectType: 'Plan',
        reason: code,
        changedFields: ['name', 'pricePerStoreMinor', 'currency', 'limits'],
      });
      return rows[0];
    });
  }
}
