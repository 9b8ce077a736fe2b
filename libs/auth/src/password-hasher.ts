import { Injectable } from '@nestjs/common';
import argon2 from 'argon2';

/**
 * argon2id with OWASP's 2024 minimum (19 MiB, two passes, one lane): about 30 ms a hash on
 * the reference machine, cheap enough for sign-in bursts and costly for offline guessing.
 */
const PARAMETERS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

@Injectable()
export class PasswordHasher {
  // Verified against when the e-mail is unknown, so both answers take the same time.
  private readonly decoy = argon2.hash('decoy password that matches nothing', PARAMETERS);

  hash(password: string): Promise<string> {
    return argon2.hash(password, PARAMETERS);
  }

  /** Verifies `password` against `hash`, or against a decoy of equal cost when there is none. */
  async verify(hash: string | null, password: string): Promise<boolean> {
    const target = hash ?? (await this.decoy);
    const matches = await argon2.verify(target, password).catch(() => false);
    return hash !== null && matches;
  }
}
