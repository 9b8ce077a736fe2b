/**
 * What a unit of work acts for. Every service method takes it first, so a reader sees on whose
 * behalf a call runs and a test can build one without an HTTP request. Later capabilities add
 * the authenticated principal, tenant and store scope here.
 */
export interface RequestContext {
  requestId: string;
  ip: string | null;
  userAgent: string | null;
}

export const REQUEST_ID_HEADER = 'x-request-id';

const CALLER_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's request id when it is a sane token, else a new one. */
export function requestIdFrom(header: unknown, generate: () => string): string {
  return typeof header === 'string' && CALLER_REQUEST_ID.test(header) ? header : generate();
}
