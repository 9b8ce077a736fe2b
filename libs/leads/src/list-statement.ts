import { accessibleWhere, type AppAbility, type RowColumns, type Subject } from '@forecourt/authz';
import { decodeCursor } from '@forecourt/core';

/**
 * The statement of one keyset page of `subject` rows the ability may read: `alias.tenant_id`
 * first, then `id > cursor`, each given equality filter, and the matrix's conditions, in id order,
 * `limit + 1` rows (so the page knows whether another follows).
 */
export function listStatement(spec: {
  tenantId: string;
  ability: AppAbility;
  subject: Subject;
  /** The table's alias in `from`; its `tenant_id` and `id` drive the page. */
  alias: string;
  columns: string;
  from: string;
  row: RowColumns;
  limit: number;
  cursor?: string;
  /** Column → value; `undefined` values are not filters. */
  equal: readonly (readonly [string, unknown])[];
}): { sql: string; params: unknown[] } {
  const { alias } = spec;
  const params: unknown[] = [spec.tenantId, decodeCursor(spec.cursor), spec.limit + 1];
  const where = [`${alias}.tenant_id = $1`, `($2::uuid is null or ${alias}.id > $2)`];
  for (const [column, value] of spec.equal) {
    if (value === undefined) continue;
    params.push(value);
    where.push(`${column} = $${params.length}`);
  }
  const readable = accessibleWhere(spec.ability, 'read', spec.subject, spec.row, params.length + 1);
  return {
    sql: `select ${spec.columns} from ${spec.from}
      where ${where.join(' and ')} and ${readable.sql} order by ${alias}.id limit $3`,
    params: [...params, ...readable.params],
  };
}
