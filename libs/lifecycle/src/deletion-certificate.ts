import canonicalize from 'canonicalize';
import { type KeyObject, verify } from 'node:crypto';

/**
 * What a tenant's deletion removed, when and why: kept by the platform (with no name, slug or
 * person in it) and mailed to the tenant's admins. Signed with the audit signing key over its
 * canonical JSON (RFC 8785), so anyone holding the published key can check it.
 */
export interface DeletionCertificate {
  format: 'forecourt-deletion-certificate/1';
  tenantId: string;
  /** `grace ended` for the scheduled deletion; the platform owner's reason for an immediate one. */
  reason: string;
  /** The platform owner who asked for an immediate deletion; null for the schedule. */
  requestedBy: string | null;
  /** When the grace ended (null: deleted at once on request). */
  dueAt: string | null;
  startedAt: string;
  completedAt: string;
  /** Rows deleted, per tenant table (every table with a tenant_id, found from the catalog). */
  rows: Record<string, number>;
  rowTotal: number;
  /** Objects deleted under the tenant's storage prefix (media, documents, exports). */
  objects: number;
  /** The tenant's data keys destroyed: what was sealed under them, wherever copied, stays sealed. */
  dataKeysDestroyed: number;
  /** The tenant's people removed because they belonged to no other tenant. */
  peopleRemoved: number;
  /**
   * Backups taken before the deletion that still exist: they hold the tenant's rows until
   * retention removes them, the last by `retainedUntil` (null: none left).
   */
  backups: { count: number; retainedUntil: string | null };
  /** Checked after the deletion: rows with the tenant's id and objects under its prefix. */
  remaining: { rows: number; objects: number };
  /** The audit signing key that signs this certificate (`/v1/audit/keys`). */
  keyId: string;
}

/** The exact bytes signed. */
export function certificateBytes(certificate: DeletionCertificate): Buffer {
  return Buffer.from(canonicalize(certificate)!, 'utf8');
}

/** Whether `signature` (base64) is a signature of `certificate` by the key it names, among `keys`. */
export function verifyDeletionCertificate(
  certificate: DeletionCertificate,
  signature: string,
  keys: ReadonlyMap<string, KeyObject>,
): boolean {
  const key = keys.get(certificate.keyId);
  if (!key) return false;
  return verify(null, certificateBytes(certificate), key, Buffer.from(signature, 'base64'));
}
