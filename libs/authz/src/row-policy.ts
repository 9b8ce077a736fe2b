import { createParamDecorator, ExecutionContext, Injectable } from '@nestjs/common';
import { subject as subjectOf } from '@casl/ability';
import { AccessDenials, type RequestContext } from '@forecourt/core';
import type { AppAbility, TenantRow } from './ability';
import { ABILITY } from './access.guard';
import { AccessError, AccessErrorCode } from './access-error';
import type { Action, Subject } from './role-matrix';

/** The caller's compiled ability, as the access guard left it on the request. */
export const CurrentAbility = createParamDecorator(
  (_data: unknown, context: ExecutionContext): AppAbility => {
    const ability = context.switchToHttp().getRequest<{ [ABILITY]?: AppAbility }>()[ABILITY];
    if (!ability) throw new Error('CurrentAbility needs AccessGuard on the route');
    return ability;
  },
);

/**
 * The row-level wall in services: after loading a row, `assert` checks it against the ability
 * (the guard could only check the subject type). A row the caller may not touch answers 404 —
 * as if it did not exist — and is recorded as an `authz.denied` event first.
 */
@Injectable()
export class RowPolicy {
  constructor(private readonly denials: AccessDenials) {}

  async assert(
    ctx: RequestContext,
    ability: AppAbility,
    action: Action,
    type: Subject,
    row: TenantRow & { id?: string },
  ): Promise<void> {
    if (ability.can(action, subjectOf(type, { ...row }))) return;
    await this.denials.record(ctx, {
      tenantId: ctx.tenant?.tenantId ?? null,
      actorRole: ctx.tenant?.role ?? ctx.principal?.platformRole ?? null,
      subjectType: type,
      subjectId: row.id ?? row.userId ?? null,
      reason: `may not ${action} this ${type}`,
    });
    throw new AccessError(AccessErrorCode.NotFound, `No such ${type}`);
  }
}
