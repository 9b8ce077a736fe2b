import { isUuid } from './ids';
import { RequestError, RequestErrorCode } from './request-error';

export const DEFAULT_PAGE_SIZE = 50;

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

/** Opaque keyset cursor: the last id of the previous page, base64url-encoded. */
export function encodeCursor(lastId: string): string {
  return Buffer.from(lastId, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined): string | null {
  if (cursor === undefined) return null;
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!isUuid(id)) throw new RequestError(RequestErrorCode.BadCursor, 'cursor: not a cursor this API issued');
  return id;
}

/** Builds a page from up to `limit + 1` rows fetched in id order. */
export function pageOf<T extends { id: string }>(rows: T[], limit: number): Page<T> {
  const data = rows.slice(0, limit);
  const last = data[data.length - 1];
  return { data, nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null };
}
