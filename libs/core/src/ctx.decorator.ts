import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Principal, RequestContext, TenantAccess } from './request-context';

/** Where the session guard leaves the verified principal on the request. */
export const PRINCIPAL = Symbol('principal');
/** Where the access guard leaves the tenant the request acts in. */
export const TENANT_ACCESS = Symbol('tenantAccess');

/**
 * Where a guard leaves what a successful answer's body becomes before it is serialized: the
 * access guard leaves the redaction of the fields the caller may not read.
 */
export const ANSWER_SHAPE = Symbol('answerShape');

export type AuthenticatedRequest = FastifyRequest & {
  [PRINCIPAL]?: Principal;
  [TENANT_ACCESS]?: TenantAccess;
  [ANSWER_SHAPE]?: (body: unknown) => unknown;
};

/**
 * The request context of the current HTTP request, for a controller to hand to its service:
 * `update(@Ctx() ctx: RequestContext, ...)`.
 */
export const Ctx = createParamDecorator((_data: unknown, context: ExecutionContext): RequestContext =>
  contextOf(context.switchToHttp().getRequest<AuthenticatedRequest>()),
);

/** The request context of an HTTP request (for guards, which run before parameter decorators). */
export function contextOf(request: AuthenticatedRequest): RequestContext {
  const userAgent = request.headers['user-agent'];
  return {
    requestId: request.id,
    ip: request.ip ?? null,
    userAgent: typeof userAgent === 'string' ? userAgent : null,
    principal: request[PRINCIPAL] ?? null,
    tenant: request[TENANT_ACCESS] ?? null,
  };
}
