import type { KeyObject } from 'node:crypto';
import type { Readable } from 'node:stream';
import { ChainVerifier, type VerifyReport } from './chain-verifier';
import { parseVerifierKey } from './checkpoint-note';
import { EXPORT_FORMAT_VERSION, type ExportFormat, ExportFormatError, readExport } from './audit-export';

export interface ExportVerification extends VerifyReport {
  tenantId: string;
  /** Whose keys the checkpoints were checked with: the ones passed in, or the export's own. */
  keysFrom: 'given' | 'export';
}

/** Parses verifier key strings (one per line, as `GET /v1/audit/keys` publishes them). */
export function verifierKeys(lines: readonly string[]): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  for (const line of lines.map((text) => text.trim()).filter(Boolean)) {
    const parsed = parseVerifierKey(line);
    if (!parsed) throw new ExportFormatError(`not a verifier key: ${line.slice(0, 80)}`);
    keys.set(parsed.keyId, parsed.key);
  }
  return keys;
}

/**
 * Verifies an exported chain offline, front to back in constant memory, with nothing but the
 * public keys. `trusted`: the keys the holder trusts; without them the export's own keys are
 * used (which proves the file consistent, not who signed it).
 */
export async function verifyExport(
  input: Readable,
  format: ExportFormat,
  trusted: ReadonlyMap<string, KeyObject> | null,
): Promise<ExportVerification> {
  let tenantId: string | null = null;
  let keys = trusted;
  const notes: string[] = [];
  let verifier: ChainVerifier | null = null;
  for await (const record of readExport(input, format)) {
    if (record.type === 'header') {
      if (record.format !== EXPORT_FORMAT_VERSION)
        throw new ExportFormatError(`unknown export format ${record.format}`);
      tenantId = record.tenantId;
      keys ??= verifierKeys(record.keys);
    } else if (record.type === 'checkpoint') {
      if (verifier) throw new ExportFormatError('a checkpoint after the first event');
      notes.push(record.note);
    } else {
      if (!tenantId || !keys) throw new ExportFormatError('the export has no header');
      verifier ??= new ChainVerifier(tenantId, notes, keys);
      if (!verifier.add(record)) break;
    }
  }
  if (!tenantId || !keys) throw new ExportFormatError('the export has no header');
  verifier ??= new ChainVerifier(tenantId, notes, keys);
  return { ...verifier.finish(), tenantId, keysFrom: trusted ? 'given' : 'export' };
}
