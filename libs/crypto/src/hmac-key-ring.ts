import { createHmac, KeyObject, timingSafeEqual } from 'node:crypto';

export interface RingKey {
  id: string;
  key: KeyObject;
}

/**
 * HMAC-SHA256 keys by id. The newest key signs; every key in the ring verifies, so tokens
 * signed before a rotation keep working until their key is retired (removed from the ring).
 * Keys are `KeyObject`s made once, not strings re-imported on every call.
 */
export class HmacKeyRing {
  private readonly keys: Map<string, KeyObject>;

  constructor(
    keys: RingKey[],
    private readonly signingKeyId: string,
  ) {
    this.keys = new Map(keys.map((entry) => [entry.id, entry.key]));
    if (!this.keys.has(signingKeyId)) throw new Error('the signing key is not in the ring');
  }

  get currentKeyId(): string {
    return this.signingKeyId;
  }

  has(keyId: string): boolean {
    return this.keys.has(keyId);
  }

  sign(message: Buffer): { keyId: string; mac: Buffer } {
    return { keyId: this.signingKeyId, mac: this.mac(this.keys.get(this.signingKeyId)!, message) };
  }

  /** True only when `keyId` is in the ring and `mac` is its MAC of `message` (constant time). */
  verify(keyId: string, message: Buffer, mac: Buffer): boolean {
    const key = this.keys.get(keyId);
    if (!key) return false;
    const expected = this.mac(key, message);
    return mac.length === expected.length && timingSafeEqual(mac, expected);
  }

  private mac(key: KeyObject, message: Buffer): Buffer {
    return createHmac('sha256', key).update(message).digest();
  }
}
