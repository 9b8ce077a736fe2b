import { Injectable } from '@nestjs/common';
import { AuditTrail } from '@forecourt/audit';
import { type RequestContext } from '@forecourt/core';
import { isoTimestampSql, type TenantQueries, tenantScopeOf, TenantTransaction } from '@forecourt/database';
import type { SsoGrantDto, SsoTestDto } from './saml-connection.dto';
import type { SamlConnection } from './saml-connections';
import { SamlError, SamlErrorCode, SSO_FAILURES, type SsoFailure } from './saml-error';
import { mappedGrant, type SsoIdentity } from './sso-accounts';

const TEST_COLUMNS = `id, case when outcome is null then 'pending' else outcome end as status, reason,
  name_id as "nameId", groups, mapped_role as "mappedRole", ${isoTimestampSql('created_at')} as "createdAt",
  case when finished_at is null then null else ${isoTimestampSql('finished_at')} end as "finishedAt"`;

type TestRow = Omit<SsoTestDto, 'detail'>;

/**
 * An admin's "test connection": a real sign-in at the IdP whose response the ACS checks exactly
 * as any other, but which signs nobody in and changes no account. The outcome — passed, with the
 * NameID and groups the IdP sent and what the mapping makes of them, or failed with the reason —
 * is kept for the admin to read. Started and finished tests are audited.
 */
@Injectable()
export class SsoTests {
  constructor(
    private readonly transactions: TenantTransaction,
    private readonly audit: AuditTrail,
  ) {}

  /** Records a test of the AuthnRequest `requestId`, requested by the caller. */
  async start(ctx: RequestContext, requestId: string): Promise<void> {
    const scope = tenantScopeOf(ctx);
    await this.transactions.run(scope, async (tx) => {
      await tx.query(`insert into sso_tests (tenant_id, id, requested_by) values ($1, $2, $3)`, [
        scope.tenantId,
        requestId,
        ctx.principal!.userId,
      ]);
      await this.audit.append(tx, ctx, {
        action: 'sso.test',
        subjectType: 'Tenant',
        subjectId: scope.tenantId,
      });
    });
  }

  /** The unfinished test `requestId` belongs to, if any. */
  async pending(db: TenantQueries, requestId: string): Promise<string | null> {
    const { rows } = await db.query<{ id: string }>(
      'select id from sso_tests where tenant_id = $1 and id = $2 and finished_at is null',
      [db.scope.tenantId, requestId],
    );
    return rows[0]?.id ?? null;
  }

  /** Keeps the outcome: the identity the response vouched for, or the refusal. */
  async finish(
    ctx: RequestContext,
    connection: SamlConnection,
    testId: string,
    identity: SsoIdentity | null,
    refusal: SamlError | null,
  ): Promise<SsoTestDto> {
    const reason: SsoFailure | null = refusal ? (refusal.failure ?? 'refused') : null;
    const grant: SsoGrantDto | null = identity ? mappedGrant(connection, identity.groups) : null;
    const outcome = refusal || !grant ? 'failed' : 'passed';
    const scope = { tenantId: connection.tenantId, stores: 'all' as const };
    const row = await this.transactions.run(scope, async (tx) => {
      const { rows } = await tx.query<TestRow>(
        `update sso_tests set finished_at = now(), outcome = $3, reason = $4, name_id = $5, groups = $6, mapped_role = $7
          where tenant_id = $1 and id = $2 and finished_at is null returning ${TEST_COLUMNS}`,
        [
          connection.tenantId,
          testId,
          outcome,
          reason ?? (grant ? null : 'not_mapped'),
          identity?.email ?? null,
          identity ? [...identity.groups] : null,
          grant ? JSON.stringify(grant) : null,
        ],
      );
      await this.audit.append(tx, ctx, {
        action: 'sso.test.finished',
        subjectType: 'Tenant',
        subjectId: connection.tenantId,
        outcome: outcome === 'passed' ? 'allowed' : 'denied',
        reason: rows[0]?.reason ?? null,
      });
      return rows[0];
    });
    if (!row) throw new SamlError(SamlErrorCode.NotConfigured, 'This connection test is already finished');
    return withDetail(row);
  }

  async get(ctx: RequestContext, testId: string): Promise<SsoTestDto> {
    const scope = tenantScopeOf(ctx);
    const { rows } = await this.transactions.statement<TestRow>(
      scope,
      `select ${TEST_COLUMNS} from sso_tests where tenant_id = $1 and id = $2`,
      [scope.tenantId, testId],
    );
    if (!rows[0]) throw new SamlError(SamlErrorCode.NotConfigured, 'No such connection test');
    return withDetail(rows[0]);
  }
}

function withDetail(row: TestRow): SsoTestDto {
  const detail = row.reason && row.reason in SSO_FAILURES ? SSO_FAILURES[row.reason as SsoFailure] : null;
  return { ...row, detail };
}
