import { createSecretKey, KeyObject, randomBytes } from 'node:crypto';
import { open, seal } from './aead';

/**
 * Envelope encryption: each tenant (and each other purpose) has its own random data key; only
 * its wrapped form — sealed under the master key, bound to its owner — is stored. Destroying a
 * wrapped key makes everything sealed under it unreadable (crypto-shredding).
 */
export class KeyWrapper {
  constructor(private readonly masterKey: KeyObject) {}

  /** A new data key and its wrapped form, bound to `owner` (e.g. `tenant:<id>`). */
  newDataKey(owner: string): { key: KeyObject; wrapped: Buffer } {
    const material = randomBytes(32);
    return { key: createSecretKey(material), wrapped: this.wrap(material, owner) };
  }

  unwrap(wrapped: Buffer, owner: string): KeyObject {
    return createSecretKey(this.unwrapBytes(wrapped, owner));
  }

  /** Wraps other key material (e.g. a private signing key in DER form), bound to `owner`. */
  wrap(material: Buffer, owner: string): Buffer {
    return seal(this.masterKey, material, `data-key:${owner}`);
  }

  unwrapBytes(wrapped: Buffer, owner: string): Buffer {
    return open(this.masterKey, wrapped, `data-key:${owner}`);
  }
}
