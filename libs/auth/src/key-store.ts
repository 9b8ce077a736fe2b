import { Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { KeyObject } from 'node:crypto';
import { DataSource } from 'typeorm';
import { HmacKeyRing, KeyWrapper } from '@forecourt/crypto';
import { newId } from '@forecourt/core';

interface KeyRow {
  id: string;
  purpose: 'session-signing' | 'user-secrets';
  wrapped_key: Buffer;
  created_at: Date;
  retired_at: Date | null;
}

const USER_SECRETS_KEY_ID = 'user-secrets-1';
/** How often an instance re-reads the keys, so a rotation or retirement reaches every instance. */
const RELOAD_MS = 15_000;

/**
 * The identity keys, stored wrapped in `key_material`: the HMAC ring that signs session and MFA
 * tokens (newest unretired key signs, all unretired keys verify), and the data key that seals
 * per-user secrets such as the TOTP secret. Created on first use.
 */
@Injectable()
export class KeyStore implements OnModuleInit, OnApplicationShutdown {
  private signing: HmacKeyRing | null = null;
  private userSecretsKey: KeyObject | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastReload = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly wrapper: KeyWrapper,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.reload();
    this.timer = setInterval(() => void this.reload().catch(() => undefined), RELOAD_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  get ring(): HmacKeyRing {
    if (!this.signing) throw new Error('keys are not loaded');
    return this.signing;
  }

  get userSecrets(): KeyObject {
    if (!this.userSecretsKey) throw new Error('keys are not loaded');
    return this.userSecretsKey;
  }

  /** A new signing key; the previous ones keep verifying until retired. */
  async rotateSigningKey(): Promise<string> {
    const id = `sk-${newId()}`;
    await this.insert(id, 'session-signing');
    await this.reload();
    return id;
  }

  /** Tokens signed by a retired key stop verifying (on every instance within the reload period). */
  async retireSigningKey(id: string): Promise<void> {
    await this.dataSource.query(
      `update key_material set retired_at = now() where id = $1 and purpose = 'session-signing'`,
      [id],
    );
    await this.reload();
  }

  /**
   * Makes sure a key id seen in a token is known if it exists: another instance may have rotated
   * moments ago. Reloads at most once a second, so unknown ids cannot force a reload per request.
   */
  async ensureKnown(keyId: string): Promise<void> {
    if (this.ring.has(keyId) || Date.now() - this.lastReload < 1_000) return;
    await this.reload();
  }

  async reload(): Promise<void> {
    this.lastReload = Date.now();
    let rows = await this.rows();
    if (!rows.some((row) => row.purpose === 'session-signing' && row.retired_at === null)) {
      await this.insert(`sk-${newId()}`, 'session-signing');
    }
    if (!rows.some((row) => row.id === USER_SECRETS_KEY_ID))
      await this.insert(USER_SECRETS_KEY_ID, 'user-secrets');
    rows = await this.rows();

    const signing = rows
      .filter((row) => row.purpose === 'session-signing' && row.retired_at === null)
      .sort((a, b) => a.created_at.getTime() - b.created_at.getTime() || a.id.localeCompare(b.id));
    this.signing = new HmacKeyRing(
      signing.map((row) => ({ id: row.id, key: this.wrapper.unwrap(row.wrapped_key, `key:${row.id}`) })),
      signing[signing.length - 1]!.id,
    );
    const secrets = rows.find((row) => row.id === USER_SECRETS_KEY_ID)!;
    this.userSecretsKey = this.wrapper.unwrap(secrets.wrapped_key, `key:${secrets.id}`);
  }

  private rows(): Promise<KeyRow[]> {
    return this.dataSource.query<KeyRow[]>(
      'select id, purpose, wrapped_key, created_at, retired_at from key_material',
    );
  }

  private async insert(id: string, purpose: KeyRow['purpose']): Promise<void> {
    const { wrapped } = this.wrapper.newDataKey(`key:${id}`);
    // Instances starting together may race to create the first key: the first one wins.
    await this.dataSource.query(
      `insert into key_material (id, purpose, wrapped_key) values ($1, $2, $3) on conflict (id) do nothing`,
      [id, purpose, wrapped],
    );
  }
}
