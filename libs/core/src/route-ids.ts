import { ApiProperty } from '@nestjs/swagger';
import { IS_UUID, isUUID } from 'class-validator';
import type { FieldError } from './problem';

const ROUTE_IDS = Symbol('routeIds');

type RouteIdsClass = (new () => object) & { [ROUTE_IDS]: readonly string[] };

/**
 * The parameters of a route whose path segments are all ids, as the class a handler takes with
 * `@Param()`: `class CustomerParams extends RouteIds('tenantId', 'customerId') {}`. Each must be
 * a UUID, exactly as `@IsUUID()` demands; the validation pipe checks them with class-validator's
 * own `isUUID`, once each, without a trip through class-validator's metadata lookup, which cost
 * the hot detail reads some 30 µs per request for two ids (docs/performance.md).
 */
export function RouteIds<const K extends string>(...names: K[]): new () => Record<K, string> {
  class Ids {
    static readonly [ROUTE_IDS]: readonly string[] = names;
  }
  for (const name of names) ApiProperty({ type: String })(Ids.prototype, name);
  return Ids as unknown as new () => Record<K, string>;
}

function isRouteIds(metatype: unknown): metatype is RouteIdsClass {
  return typeof metatype === 'function' && ROUTE_IDS in metatype;
}

/**
 * The route parameters as an instance of `metatype` with the field errors class-validator would
 * have reported (a value that is no UUID; a parameter the class does not name), or null when
 * `metatype` is not a {@link RouteIds} class.
 */
export function routeIdsOf(
  metatype: unknown,
  params: unknown,
): { value: object; errors: FieldError[] } | null {
  if (!isRouteIds(metatype)) return null;
  const given = (params ?? {}) as Record<string, unknown>;
  const names = metatype[ROUTE_IDS];
  const errors: FieldError[] = [];
  for (const name of names) {
    if (!isUUID(given[name])) errors.push({ field: name, rule: IS_UUID, message: `${name} must be a UUID` });
  }
  for (const name of Object.keys(given)) {
    if (!names.includes(name)) {
      errors.push({ field: name, rule: 'whitelistValidation', message: `property ${name} should not exist` });
    }
  }
  return { value: Object.assign(new metatype(), given), errors };
}
