import { Injectable, OnModuleInit } from '@nestjs/common';
import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, sign } from 'node:crypto';
import { DataSource } from 'typeorm';
import { KeyWrapper } from '@forecourt/crypto';
import { keyHash, verifierKey } from './checkpoint-note';

interface SigningKeyRow {
  id: string;
  wrapped_key: Buffer;
  public_key: Buffer;
  created_at: Date;
  retired_at: Date | null;
}

export interface PublishedKey {
  keyId: string;
  /** The signed-note verifier key: `forecourt-audit+<keyId>+<base64 key>`. */
  verifierKey: string;
  createdAt: string;
  retiredAt: string | null;
}

/**
 * The Ed25519 key that signs checkpoints: its private half stored only wrapped under the master
 * key (`key_material`, purpose `audit-signing`), its public half beside it and published. Made on
 * first start; the oldest unretired key signs, every key ever used verifies.
 */
@Injectable()
export class AuditSigningKey implements OnModuleInit {
  private signing: { privateKey: KeyObject; publicKey: KeyObject } | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly wrapper: KeyWrapper,
  ) {}

  async onModuleInit(): Promise<void> {
    let rows = await this.rows();
    if (!rows.some((row) => row.retired_at === null)) {
      await this.create();
      rows = await this.rows();
    }
    const active = rows.find((row) => row.retired_at === null)!;
    this.signing = {
      privateKey: createPrivateKey({
        key: this.wrapper.unwrapBytes(active.wrapped_key, `key:${active.id}`),
        format: 'der',
        type: 'pkcs8',
      }),
      publicKey: publicKeyOf(active),
    };
  }

  get privateKey(): KeyObject {
    if (!this.signing) throw new Error('the audit signing key is not loaded');
    return this.signing.privateKey;
  }

  get publicKey(): KeyObject {
    if (!this.signing) throw new Error('the audit signing key is not loaded');
    return this.signing.publicKey;
  }

  /** The id of the signing key, as `/v1/audit/keys` lists it. */
  get keyId(): string {
    return keyHash(this.publicKey).toString('hex');
  }

  /**
   * A detached Ed25519 signature over `message` (for documents the platform vouches for, such as
   * a deletion certificate), with the id of the key that made it, as `/v1/audit/keys` lists it.
   */
  signDetached(message: Buffer): { keyId: string; signature: string } {
    return {
      keyId: this.keyId,
      signature: sign(null, message, this.privateKey).toString('base64'),
    };
  }

  /** Every public key that ever signed, by key id. */
  async verifyingKeys(): Promise<Map<string, KeyObject>> {
    const keys = new Map<string, KeyObject>();
    for (const row of await this.rows()) {
      const key = publicKeyOf(row);
      keys.set(keyHash(key).toString('hex'), key);
    }
    return keys;
  }

  async published(): Promise<PublishedKey[]> {
    return (await this.rows()).map((row) => {
      const key = publicKeyOf(row);
      return {
        keyId: keyHash(key).toString('hex'),
        verifierKey: verifierKey(key),
        createdAt: row.created_at.toISOString(),
        retiredAt: row.retired_at?.toISOString() ?? null,
      };
    });
  }

  private rows(): Promise<SigningKeyRow[]> {
    return this.dataSource.query<SigningKeyRow[]>(
      `select id, wrapped_key, public_key, created_at, retired_at from key_material
        where purpose = 'audit-signing' order by created_at, id`,
    );
  }

  private async create(): Promise<void> {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const id = `audit-signing-${keyHash(publicKey).toString('hex')}`;
    const wrapped = this.wrapper.wrap(privateKey.export({ format: 'der', type: 'pkcs8' }), `key:${id}`);
    // Instances starting together may both create one; the oldest signs, both verify.
    await this.dataSource.query(
      `insert into key_material (id, purpose, wrapped_key, public_key) values ($1, 'audit-signing', $2, $3)
       on conflict (id) do nothing`,
      [id, wrapped, publicKey.export({ format: 'der', type: 'spki' })],
    );
  }
}

function publicKeyOf(row: SigningKeyRow): KeyObject {
  return createPublicKey({ key: row.public_key, format: 'der', type: 'spki' });
}
