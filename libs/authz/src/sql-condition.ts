import { rulesToAST } from '@casl/ability/extra';
import type { AppAbility, TenantRow } from './ability';
import type { Action, Subject } from './role-matrix';

/** A parameterised SQL boolean expression and the values of its placeholders. */
export interface SqlCondition {
  sql: string;
  params: unknown[];
}

/** Which SQL column holds each row field the matrix writes conditions on. */
export type RowColumns = Partial<Record<keyof TenantRow, string>>;

interface AstNode {
  operator: string;
  value: unknown;
  field?: string;
}

export class UntranslatableRuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UntranslatableRuleError';
  }
}

/**
 * The WHERE condition of a list query, taken from the ability itself (CASL 7's `rulesToAST`), so a
 * list can never return a row that `can(action, row)` would refuse. No rule at all gives `false`
 * (an empty list, never "no filter"). A field without a column, or an operator the matrix does
 * not use, throws: a rule is never silently dropped. Placeholders start at `$<firstParam>`.
 */
export function accessibleWhere(
  ability: AppAbility,
  action: Action,
  subject: Subject,
  columns: RowColumns,
  firstParam: number,
): SqlCondition {
  const ast = rulesToAST(ability, action, subject) as AstNode | null;
  const params: unknown[] = [];
  if (ast === null) return { sql: 'false', params };
  const placeholder = (value: unknown) => {
    params.push(value);
    return `$${firstParam + params.length - 1}`;
  };

  const render = (node: AstNode): string => {
    switch (node.operator) {
      case 'and':
      case 'or': {
        const parts = (node.value as AstNode[]).map(render);
        if (parts.length === 0) return node.operator === 'and' ? 'true' : 'false';
        return `(${parts.join(` ${node.operator} `)})`;
      }
      case 'not':
        return `(not ${render(node.value as AstNode)})`;
      case 'eq':
      case 'ne':
      case 'in':
      case 'nin': {
        const field = node.field as keyof TenantRow | undefined;
        const column = field ? columns[field] : undefined;
        if (!column) throw new UntranslatableRuleError(`no column for ${subject}.${String(node.field)}`);
        if (node.operator === 'eq')
          return node.value === null ? `${column} is null` : `${column} = ${placeholder(node.value)}`;
        if (node.operator === 'ne')
          return node.value === null
            ? `${column} is not null`
            : `${column} is distinct from ${placeholder(node.value)}`;
        const list = placeholder(node.value);
        return node.operator === 'in' ? `${column} = any(${list})` : `not (${column} = any(${list}))`;
      }
      default:
        throw new UntranslatableRuleError(`operator ${node.operator} of ${subject} has no SQL form here`);
    }
  };
  return { sql: render(ast), params };
}
