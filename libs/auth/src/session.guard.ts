import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { type AuthenticatedRequest, PRINCIPAL } from '@forecourt/core';
import { AuthError, AuthErrorCode } from './auth-error';
import { Sessions } from './sessions';

/** Admits a request only with a live session (`Authorization: Bearer <token>`). */
@Injectable()
export class SessionGuard implements CanActivate {
  constructor(private readonly sessions: Sessions) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization;
    const token = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7).trim() : null;
    const principal = token ? await this.sessions.authenticate(token) : null;
    if (!principal)
      throw new AuthError(AuthErrorCode.Unauthenticated, 'Sign in first (a valid bearer token is required)');
    request[PRINCIPAL] = principal;
    return true;
  }
}
