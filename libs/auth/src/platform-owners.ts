import { Injectable } from '@nestjs/common';
import { newId } from '@forecourt/core';
import { TenantTransaction } from '@forecourt/database';
import { DataSource } from 'typeorm';
import { AuthError, AuthErrorCode } from './auth-error';
import { PasswordHasher } from './password-hasher';
import { passwordProblem } from './password-policy';

/** Creates platform owners (the CLI's `owner:create`). */
@Injectable()
export class PlatformOwners {
  constructor(
    private readonly dataSource: DataSource,
    private readonly transactions: TenantTransaction,
    private readonly passwords: PasswordHasher,
  ) {}

  async exists(): Promise<boolean> {
    const [row] = await this.dataSource.query<{ exists: boolean }[]>(
      'select app.platform_owner_exists() as exists',
    );
    return row?.exists ?? false;
  }

  /** Returns the new user's id. MFA is enrolled at the first sign-in. */
  async create(email: string, name: string, password: string): Promise<string> {
    const address = email.trim().toLowerCase();
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(address)) {
      throw new AuthError(AuthErrorCode.InvalidAccount, 'email: not an e-mail address');
    }
    if (!name.trim()) throw new AuthError(AuthErrorCode.InvalidAccount, 'name: must not be empty');
    const problem = passwordProblem(password, address);
    if (problem) throw new AuthError(AuthErrorCode.WeakPassword, `password: ${problem}`);
    const id = newId();
    const hash = await this.passwords.hash(password);
    const [existing] = await this.dataSource.query<{ id: string }[]>(
      'select id from app.sign_in_candidate($1)',
      [address],
    );
    if (existing)
      throw new AuthError(AuthErrorCode.AccountExists, 'email: an account with this e-mail exists');
    await this.transactions.statement(
      { tenantId: null, stores: [], userId: id },
      `insert into users (id, email, name, password_hash, platform_role) values ($1, $2, $3, $4, 'platform_owner')`,
      [id, address, name.trim(), hash],
    );
    return id;
  }
}
