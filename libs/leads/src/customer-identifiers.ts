import type { TenantKeys } from '@forecourt/crypto';
import type { TenantQueries } from '@forecourt/database';

/** The identifiers kept only sealed under the tenant's key, with their columns. */
export const SEALED = {
  nationalId: 'national_id',
  driverLicense: 'driver_license',
  sensitive: 'sensitive',
} as const;
export type SealedField = keyof typeof SEALED;
export const SEALED_FIELDS = Object.keys(SEALED) as SealedField[];

/** A sealed value opens only for its customer and field (and, through the key, its tenant). */
export function contextOf(customerId: string, field: SealedField): string {
  return `customer:${customerId}:${field}`;
}

/** A customer's identifiers as stored: sealed bytes, null where there is none. */
export type SealedIdentifiers = Record<SealedField, Buffer | null>;

/** The same identifiers opened: the texts, and the map of market-specific ids. */
export interface OpenedIdentifiers {
  nationalId: string | null;
  driverLicense: string | null;
  sensitive: Record<string, string> | null;
}

/**
 * Opens every sealed identifier of one customer, whoever asks: for the tenant's own copy of its
 * data (the export), where no role's field list applies. `tx` is queried only for a key not yet
 * in memory. Callers that answer a person go through `Customers`, which opens only the fields
 * the person may read.
 */
export async function openCustomerIdentifiers(
  keys: TenantKeys,
  tx: TenantQueries,
  customerId: string,
  sealed: SealedIdentifiers,
): Promise<OpenedIdentifiers> {
  const open = async (field: SealedField): Promise<string | null> => {
    const value = sealed[field];
    return value ? (await keys.open(tx, value, contextOf(customerId, field))).toString('utf8') : null;
  };
  const sensitive = await open('sensitive');
  return {
    nationalId: await open('nationalId'),
    driverLicense: await open('driverLicense'),
    sensitive: sensitive === null ? null : (JSON.parse(sensitive) as Record<string, string>),
  };
}
