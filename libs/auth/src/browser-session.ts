import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import { sha256 } from './signed-token';

export const SESSION_COOKIE = 'fc_session';
export const CSRF_COOKIE = 'fc_csrf';
export const CSRF_HEADER = 'x-csrf-token';
/** Methods that change nothing: no CSRF token needed, and the session check may be deferred. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The CSRF token of a browser session, derived from the session token: a page of another origin
 * can make the browser send the (HttpOnly) session cookie, but can neither read it nor this
 * token, so it cannot echo the token in the header a state-changing request must carry.
 */
export function csrfTokenFor(sessionToken: string): string {
  return sha256(`csrf:${sessionToken}`).toString('base64url');
}

export function csrfTokenMatches(sessionToken: string, header: unknown): boolean {
  if (typeof header !== 'string') return false;
  const expected = Buffer.from(csrfTokenFor(sessionToken));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Sets the session cookie (HttpOnly) and the CSRF cookie (readable by the page's own script). */
export function setSessionCookies(
  reply: FastifyReply,
  token: string,
  expiresAt: Date,
  secure: boolean,
): void {
  const options = { path: '/', sameSite: 'strict' as const, secure, expires: expiresAt };
  void reply.setCookie(SESSION_COOKIE, token, { ...options, httpOnly: true });
  void reply.setCookie(CSRF_COOKIE, csrfTokenFor(token), { ...options, httpOnly: false });
}

export function clearSessionCookies(reply: FastifyReply, secure: boolean): void {
  for (const name of [SESSION_COOKIE, CSRF_COOKIE]) {
    void reply.clearCookie(name, { path: '/', sameSite: 'strict', secure });
  }
}
