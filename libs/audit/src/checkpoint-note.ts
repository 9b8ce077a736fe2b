import { createHash, createPublicKey, KeyObject, sign, verify } from 'node:crypto';

/**
 * Signed checkpoints in the C2SP signed-note format (c2sp.org/signed-note, c2sp.org/tlog-checkpoint):
 *
 *     forecourt/audit/<tenantId>         origin: which chain
 *     <seq>                              how many events the chain held
 *     <base64 of the head hash>          the hash of event <seq>
 *     time <ISO 8601>                    when it was signed (an extension line)
 *
 *     — forecourt-audit <base64(key hash (4 bytes) ‖ Ed25519 signature)>
 *
 * The signature covers the text above the blank line. Any Ed25519 implementation can check it.
 */
export const KEY_NAME = 'forecourt-audit';

export interface Checkpoint {
  tenantId: string;
  seq: number;
  /** Hex SHA-256 of the event at `seq`. */
  hash: string;
  signedAt: string;
  /** Hex of the 4-byte key hash that names the signing key. */
  keyId: string;
  note: string;
}

export function originOf(tenantId: string): string {
  return `forecourt/audit/${tenantId}`;
}

/** The raw 32-byte Ed25519 public key. */
function rawPublicKey(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') {
    throw new Error('checkpoint keys are Ed25519 keys');
  }
  return Buffer.from(jwk.x, 'base64url');
}

/** The signed-note key hash: SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key), first 4 bytes. */
export function keyHash(publicKey: KeyObject): Buffer {
  return createHash('sha256')
    .update(`${KEY_NAME}\n`)
    .update(Buffer.from([0x01]))
    .update(rawPublicKey(publicKey))
    .digest()
    .subarray(0, 4);
}

/** The verifier key string of the signed-note format: `<name>+<hex key hash>+<base64(0x01 ‖ key)>`. */
export function verifierKey(publicKey: KeyObject): string {
  const encoded = Buffer.concat([Buffer.from([0x01]), rawPublicKey(publicKey)]).toString('base64');
  return `${KEY_NAME}+${keyHash(publicKey).toString('hex')}+${encoded}`;
}

/** Parses a verifier key string back into its id and public key; null when it is not one. */
export function parseVerifierKey(text: string): { keyId: string; key: KeyObject } | null {
  const match = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(text.trim());
  if (!match || match[1] !== KEY_NAME) return null;
  const bytes = Buffer.from(match[3]!, 'base64');
  if (bytes.length !== 33 || bytes[0] !== 0x01) return null;
  const key = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: bytes.subarray(1).toString('base64url') },
    format: 'jwk',
  });
  if (keyHash(key).toString('hex') !== match[2]) return null;
  return { keyId: match[2], key };
}

/** Signs a checkpoint of `tenantId`'s chain at `seq`/`hash`. */
export function signCheckpoint(
  privateKey: KeyObject,
  publicKey: KeyObject,
  head: { tenantId: string; seq: number; hash: string },
  signedAt: Date,
): Checkpoint {
  const body =
    `${originOf(head.tenantId)}\n${head.seq}\n${Buffer.from(head.hash, 'hex').toString('base64')}\n` +
    `time ${signedAt.toISOString()}\n`;
  const id = keyHash(publicKey);
  const signature = sign(null, Buffer.from(body, 'utf8'), privateKey);
  const note = `${body}\n\u2014 ${KEY_NAME} ${Buffer.concat([id, signature]).toString('base64')}\n`;
  return {
    tenantId: head.tenantId,
    seq: head.seq,
    hash: head.hash,
    signedAt: signedAt.toISOString(),
    keyId: id.toString('hex'),
    note,
  };
}

/**
 * Reads a signed note back: null unless it is well formed and carries a valid signature by one
 * of `keys` (key id → public key). The fields come from the signed text, never from elsewhere.
 */
export function openCheckpoint(note: string, keys: ReadonlyMap<string, KeyObject>): Checkpoint | null {
  const split = note.indexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) return null;
  const body = note.slice(0, split + 1);
  const lines = body.slice(0, -1).split('\n');
  const [origin, size, hash, time] = lines;
  const tenant = /^forecourt\/audit\/([0-9a-f-]{36})$/.exec(origin ?? '')?.[1];
  const seq = /^[1-9][0-9]{0,15}$/.test(size ?? '') ? Number(size) : NaN;
  const head = Buffer.from(hash ?? '', 'base64');
  const signedAt = /^time (\S+)$/.exec(time ?? '')?.[1];
  if (!tenant || !Number.isSafeInteger(seq) || head.length !== 32 || !signedAt) return null;

  for (const line of note.slice(split + 2).split('\n')) {
    const signature = new RegExp(`^\u2014 ${KEY_NAME} ([A-Za-z0-9+/=]+)$`).exec(line);
    if (!signature) continue;
    const bytes = Buffer.from(signature[1]!, 'base64');
    // Node's decoder is lenient; only the canonical encoding counts, so one checkpoint has one text.
    if (bytes.toString('base64') !== signature[1]) continue;
    const keyId = bytes.subarray(0, 4).toString('hex');
    const key = keys.get(keyId);
    if (!key || bytes.length !== 68) continue;
    if (verify(null, Buffer.from(body, 'utf8'), key, bytes.subarray(4))) {
      return { tenantId: tenant, seq, hash: head.toString('hex'), signedAt, keyId, note };
    }
  }
  return null;
}
