import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { type AuthenticatedRequest, PRINCIPAL } from '@forecourt/core';
import { AuthError, AuthErrorCode } from './auth-error';
import { CSRF_HEADER, csrfTokenMatches, SAFE_METHODS, SESSION_COOKIE } from './browser-session';
import { SESSION_RECHECK_HEADER } from './session-check-before-answer';
import { Sessions } from './sessions';

/**
 * Admits a request only with a live session: `Authorization: Bearer <token>` (API clients), or
 * the session cookie (browsers) — then a state-changing request must also echo the CSRF token in
 * `X-CSRF-Token`, or it is refused with 403.
 *
 * A write checks the session before it goes on. A read by a session this instance checked lately
 * goes on with the principal it found then, and its first statement makes the check (see
 * `Sessions.authenticateDeferred`): one round trip fewer, the same answer.
 */
@Injectable()
export class SessionGuard implements CanActivate {
  constructor(private readonly sessions: Sessions) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization;
    const bearer = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7).trim() : null;
    const cookie = bearer ? null : (request.cookies?.[SESSION_COOKIE] ?? null);
    const token = bearer ?? cookie;
    if (
      cookie &&
      !SAFE_METHODS.has(request.method) &&
      !csrfTokenMatches(cookie, request.headers[CSRF_HEADER])
    ) {
      throw new AuthError(
        AuthErrorCode.CsrfTokenMissing,
        `A cookie session must send the ${CSRF_HEADER} header`,
      );
    }
    const deferred =
      SAFE_METHODS.has(request.method) && request.headers[SESSION_RECHECK_HEADER] === undefined;
    const principal = !token
      ? null
      : deferred
        ? await this.sessions.authenticateDeferred(token)
        : await this.sessions.authenticate(token);
    if (!principal)
      throw new AuthError(AuthErrorCode.Unauthenticated, 'Sign in first (a valid bearer token is required)');
    request[PRINCIPAL] = principal;
    return true;
  }
}
