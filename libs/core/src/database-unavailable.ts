/** Seconds a client is asked to wait before trying again while the database is away. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/** Socket failures of a connection to the database (refused, reset, timed out, unresolvable). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/**
 * SQLSTATEs of a server that is not there for us right now: class 08 (connection exception),
 * 57P01-57P03 (shut down by the administrator, crashed, not yet accepting), 53300 (too many
 * connections).
 */
const UNAVAILABLE_SQLSTATE = /^(08[0-9A-Z]{3}|57P0[123]|53300)$/;
/** node-postgres and its pool say a connection ended or never came in words, not codes. */
const CONNECTION_LOST =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable)/;

/**
 * Whether `error` means the database cannot be reached at the moment (as opposed to a query it
 * refused): the request may succeed if tried again shortly, so it answers 503, not 500.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  // Not `instanceof Error`: a socket's error may come from another realm (a test sandbox).
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))) return true;
  if (typeof message !== 'string') return false;
  // 55000 is a broad class; only its "not accepting connections" (a database closed for now) counts.
  if (code === '55000') return message.includes('not currently accepting connections');
  return CONNECTION_LOST.test(message);
}
