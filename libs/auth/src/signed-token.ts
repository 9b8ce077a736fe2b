import { createHash, randomBytes } from 'node:crypto';
import { HmacKeyRing } from '@forecourt/crypto';
import { isUuid } from '@forecourt/core';

/**
 * `<kind>.<keyId>.<userId>.<body>.<mac>`: the user id lets the server read the user's own
 * rows (RLS acts as that user), the key id names the ring key that signed it, the MAC covers
 * everything before it. For sessions the body is a random secret stored only as its hash; for
 * MFA challenges it is the expiry time.
 */
export interface SignedToken {
  kind: 'fcs' | 'fcm';
  keyId: string;
  userId: string;
  body: string;
}

const b64 = (bytes: Buffer) => bytes.toString('base64url');

export function signToken(ring: HmacKeyRing, token: Omit<SignedToken, 'keyId'>): string {
  const keyId = ring.currentKeyId;
  const message = `${token.kind}.${keyId}.${token.userId}.${token.body}`;
  return `${message}.${b64(ring.sign(Buffer.from(message)).mac)}`;
}

/** The token's parts when its MAC verifies under a key still in the ring, else null. */
export function verifyToken(ring: HmacKeyRing, kind: SignedToken['kind'], raw: string): SignedToken | null {
  if (raw.length > 512) return null;
  const parts = raw.split('.');
  if (parts.length !== 5) return null;
  const [tokenKind, keyId, userId, body, mac] = parts as [string, string, string, string, string];
  if (tokenKind !== kind || !isUuid(userId) || !/^[A-Za-z0-9_-]+$/.test(body + mac)) return null;
  const message = Buffer.from(`${tokenKind}.${keyId}.${userId}.${body}`);
  if (!ring.verify(keyId, message, Buffer.from(mac, 'base64url'))) return null;
  return { kind, keyId, userId, body };
}

export function randomSecret(): string {
  return b64(randomBytes(32));
}

export function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
