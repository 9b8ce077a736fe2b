/** Above every character: `text || chr(LAST_CODE_POINT)` bounds the strings that start with `text`. */
const LAST_CODE_POINT = 0x10ffff;

/**
 * SQL that is true when `column` starts with the text `value` (both SQL expressions), written
 * with the pattern comparison operators `~>=~` and `~<~`: they are LEAKPROOF, so under row-level
 * security the condition still reaches a `text_pattern_ops` index on the column (LIKE and
 * `starts_with` on a column do not), whatever the database's collation.
 */
export function startsWithSql(column: string, value: string): string {
  return `(${column} ~>=~ ${value} and ${column} ~<~ (${value} || chr(${LAST_CODE_POINT})))`;
}

/** SQL rendering the timestamp expression `column` as ISO 8601 in UTC with milliseconds (`…T…Z`). */
export function isoTimestampSql(column: string): string {
  return `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}
