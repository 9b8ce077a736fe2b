import { Injectable } from '@nestjs/common';
import { type AccessDenial, AccessDenials, type RequestContext } from '@forecourt/core';
import { AuditTrail } from './audit-trail';

/** Every refusal of the authorization wall becomes an `authz.denied` event before the answer goes out. */
@Injectable()
export class AuditedAccessDenials extends AccessDenials {
  constructor(private readonly trail: AuditTrail) {
    super();
  }

  record(ctx: RequestContext, denial: AccessDenial): Promise<void> {
    return this.trail.record(ctx, denial.tenantId, {
      action: 'authz.denied',
      subjectType: denial.subjectType,
      subjectId: denial.subjectId,
      outcome: 'denied',
      reason: denial.reason,
      ...(denial.actorRole ? { actorRole: denial.actorRole } : {}),
    });
  }
}
