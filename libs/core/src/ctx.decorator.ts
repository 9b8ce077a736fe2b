import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Principal, RequestContext } from './request-context';

/** Where the session guard leaves the verified principal on the request. */
export const PRINCIPAL = Symbol('principal');

export type AuthenticatedRequest = FastifyRequest & { [PRINCIPAL]?: Principal };

/**
 * The request context of the current HTTP request, for a controller to hand to its service:
 * `update(@Ctx() ctx: RequestContext, ...)`.
 */
export const Ctx = createParamDecorator((_data: unknown, context: ExecutionContext): RequestContext => {
  const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
  const userAgent = request.headers['user-agent'];
  return {
    requestId: request.id,
    ip: request.ip ?? null,
    userAgent: typeof userAgent === 'string' ? userAgent : null,
    principal: request[PRINCIPAL] ?? null,
  };
});
