import { createSecretKey, KeyObject, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class MasterKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MasterKeyError';
  }
}

/**
 * The key that wraps every data key. From `MASTER_KEY` when set; otherwise generated once into
 * `DATA_DIR/master.key` (mode 0600) and read from there afterwards. A key file readable by
 * group or others is refused rather than trusted.
 */
export function loadMasterKey(settings: { masterKey: Buffer | null; dataDir: string }): KeyObject {
  if (settings.masterKey) return createSecretKey(settings.masterKey);
  const file = join(settings.dataDir, 'master.key');
  if (!existsSync(file)) {
    mkdirSync(settings.dataDir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
  }
  if ((statSync(file).mode & 0o077) !== 0) {
    throw new MasterKeyError(`${file} is readable by group or others; chmod 600 it`);
  }
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw new MasterKeyError(`${file} does not hold base64 of 32 bytes`);
  return createSecretKey(key);
}
