import { Inject, Injectable } from '@nestjs/common';
import { pipeline, Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import {
  DecryptionError,
  KeyWrapper,
  masterKeyring,
  measuringStream,
  openingStream,
  sealingStream,
  type StreamKeyring,
  TenantKeys,
} from '@forecourt/crypto';
import { TenantTransaction } from '@forecourt/database';
import { checkedKey, type ObjectDriver } from './object-driver';

/** Injection token of the driver chosen from the configuration (local files or S3). */
export const OBJECT_DRIVER = Symbol('OBJECT_DRIVER');

/** Whose object: a tenant's (under its data key) or the platform's (under the master key). */
export type ObjectOwner = { tenantId: string } | 'platform';

export interface StoredObject {
  /** The full object key, `tenants/<tenantId>/<path>` or `platform/<path>`. */
  key: string;
  /** Plaintext bytes. */
  size: number;
  /** SHA-256 of the plaintext, hex. */
  sha256: string;
}

const DELETION_BATCH = 100;
const tenantPrefix = (tenantId: string) => checkedKey(`tenants/${tenantId}`);

/** The key of `path` in `owner`'s part of the store: every tenant object lives under its tenant. */
export function objectKeyOf(owner: ObjectOwner, path: string): string {
  return checkedKey(owner === 'platform' ? `platform/${path}` : `tenants/${owner.tenantId}/${path}`);
}

/**
 * Objects outside the database, encrypted before they leave the process: each one in the
 * chunked STREAM format of `libs/crypto` under a fresh key, wrapped by its tenant's data key (or
 * by the master key for platform objects) and bound to the object's key, so bytes copied to
 * another key or tenant do not open. Bodies stream through: a large file never sits in memory.
 */
@Injectable()
export class ObjectStore {
  constructor(
    @Inject(OBJECT_DRIVER) private readonly driver: ObjectDriver,
    private readonly wrapper: KeyWrapper,
    private readonly tenantKeys: TenantKeys,
    private readonly transactions: TenantTransaction,
  ) {}

  get driverKind(): ObjectDriver['kind'] {
    return this.driver.kind;
  }

  /** For readiness: `ok` when objects can be stored now. */
  async readiness(): Promise<'ok' | 'unreachable'> {
    return (await this.driver.reachable()) ? 'ok' : 'unreachable';
  }

  /**
   * Encrypts and stores `body` at `path`. Resolves once the object is stored whole; if `body`
   * fails midway (too large, wrong type, client gone) it rejects and leaves no object.
   */
  async put(owner: ObjectOwner, path: string, body: Readable | Buffer | string): Promise<StoredObject> {
    const key = objectKeyOf(owner, path);
    const measuring = measuringStream();
    const source = body instanceof Readable ? body : Readable.from([Buffer.from(body)]);
    // An error anywhere destroys the whole chain, so the driver sees it and keeps nothing.
    const sealed = pipeline(
      source,
      measuring.stream,
      sealingStream(this.keyringOf(owner), key),
      () => undefined,
    );
    await this.driver.write(key, sealed);
    const { size, sha256 } = measuring.result();
    return { key, size, sha256: sha256.toString('hex') };
  }

  /** The decrypted bytes as a stream (each chunk authenticated before it is passed on), or null. */
  async open(owner: ObjectOwner, path: string): Promise<Readable | null> {
    const key = objectKeyOf(owner, path);
    const raw = await this.driver.read(key);
    if (!raw) return null;
    return pipeline(raw, openingStream(this.keyringOf(owner), key), () => undefined);
  }

  /** A small object's whole plaintext, or null. */
  async get(owner: ObjectOwner, path: string): Promise<Buffer | null> {
    const stream = await this.open(owner, path);
    return stream ? buffer(stream) : null;
  }

  async delete(owner: ObjectOwner, path: string): Promise<void> {
    await this.driver.delete(objectKeyOf(owner, path));
  }

  /** Paths (relative to the owner, like those given to `put`) under `folder`, sorted. */
  async list(owner: ObjectOwner, folder: string): Promise<string[]> {
    const root = objectKeyOf(owner, folder).slice(0, -folder.length);
    return (await this.driver.list(objectKeyOf(owner, folder))).map((key) => key.slice(root.length));
  }

  /** How many objects the tenant holds (its whole part of the store). */
  async countOfTenant(tenantId: string): Promise<number> {
    return (await this.driver.list(tenantPrefix(tenantId))).length;
  }

  /**
   * Deletes every object of the tenant, a batch at a time, reporting each batch's count after it
   * is gone (a tenant's deletion keeps a running total that survives an interruption). Run again
   * after an interruption, it deletes what is left. Returns how many it deleted.
   */
  async deleteTenantObjects(tenantId: string, deleted: (count: number) => Promise<void>): Promise<number> {
    const keys = await this.driver.list(tenantPrefix(tenantId));
    let total = 0;
    for (let start = 0; start < keys.length; start += DELETION_BATCH) {
      const batch = keys.slice(start, start + DELETION_BATCH);
      await Promise.all(batch.map((key) => this.driver.delete(key)));
      await deleted(batch.length);
      total += batch.length;
    }
    return total;
  }

  private keyringOf(owner: ObjectOwner): StreamKeyring {
    if (owner === 'platform') return masterKeyring(this.wrapper);
    // The wrapped key names the tenant key it was sealed with (see TenantKeys.seal); opening it
    // in the tenant's own transaction means another tenant's key is never even readable.
    const scope = { tenantId: owner.tenantId, stores: [] };
    const keyId = `tenant:${owner.tenantId}`;
    return {
      wrap: async (streamKey, context) => ({
        keyId,
        wrapped: await this.transactions.run(scope, (tx) =>
          this.tenantKeys.seal(tx, streamKey, `stream:${context}`),
        ),
      }),
      unwrap: async (id, wrapped, context) => {
        if (id !== keyId) throw new DecryptionError();
        return this.transactions.run(scope, (tx) => this.tenantKeys.open(tx, wrapped, `stream:${context}`));
      },
    };
  }
}
