import { createSecretKey, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DecryptionError, HmacKeyRing, KeyWrapper, loadMasterKey, MasterKeyError, open, seal } from './index';

const key = () => createSecretKey(randomBytes(32));

describe('seal / open (AES-256-GCM)', () => {
  const k = key();
  const sealed = seal(k, Buffer.from('AB123456C'), 'customer:1:national_id');

  it('round-trips', () => {
    expect(open(k, sealed, 'customer:1:national_id').toString()).toBe('AB123456C');
  });

  it('uses a fresh nonce each time', () => {
    expect(seal(k, Buffer.from('same'), 'ctx').equals(seal(k, Buffer.from('same'), 'ctx'))).toBe(false);
  });

  it.each([
    ['another key', () => open(key(), sealed, 'customer:1:national_id')],
    ['another context (a value copied to another row)', () => open(k, sealed, 'customer:2:national_id')],
    [
      'a flipped byte',
      () => open(k, Buffer.from(sealed.map((b, i) => (i === 20 ? b ^ 1 : b))), 'customer:1:national_id'),
    ],
    ['a truncated value', () => open(k, sealed.subarray(0, sealed.length - 1), 'customer:1:national_id')],
    ['garbage', () => open(k, Buffer.from('nope'), 'customer:1:national_id')],
  ])('refuses %s', (_case, attempt) => {
    expect(attempt).toThrow(DecryptionError);
  });
});

describe('KeyWrapper (envelope encryption)', () => {
  const master = key();
  const wrapper = new KeyWrapper(master);

  it('unwraps a data key for its owner only', () => {
    const { key: dataKey, wrapped } = wrapper.newDataKey('tenant:a');
    const value = seal(dataKey, Buffer.from('secret'), 'x');
    expect(open(wrapper.unwrap(wrapped, 'tenant:a'), value, 'x').toString()).toBe('secret');
    expect(() => wrapper.unwrap(wrapped, 'tenant:b')).toThrow(DecryptionError);
    expect(() => new KeyWrapper(key()).unwrap(wrapped, 'tenant:a')).toThrow(DecryptionError);
  });

  it('never stores the data key in the clear', () => {
    const { key: dataKey, wrapped } = wrapper.newDataKey('tenant:a');
    expect(wrapped.includes(dataKey.export())).toBe(false);
  });
});

describe('HmacKeyRing', () => {
  const old = { id: 'k1', key: key() };
  const current = { id: 'k2', key: key() };
  const message = Buffer.from('session-id');

  it('signs with the newest key and verifies with every key in the ring', () => {
    const before = new HmacKeyRing([old], 'k1').sign(message);
    const ring = new HmacKeyRing([old, current], 'k2');
    const after = ring.sign(message);
    expect(after.keyId).toBe('k2');
    expect(ring.verify(before.keyId, message, before.mac)).toBe(true);
    expect(ring.verify(after.keyId, message, after.mac)).toBe(true);
  });

  it('refuses a retired key, a flipped bit, another message and an unknown key id', () => {
    const before = new HmacKeyRing([old], 'k1').sign(message);
    const retired = new HmacKeyRing([current], 'k2');
    expect(retired.verify(before.keyId, message, before.mac)).toBe(false);
    const ring = new HmacKeyRing([old, current], 'k2');
    const signed = ring.sign(message);
    const flipped = Buffer.from(signed.mac);
    flipped[0]! ^= 1;
    expect(ring.verify('k2', message, flipped)).toBe(false);
    expect(ring.verify('k2', Buffer.from('other'), signed.mac)).toBe(false);
    expect(ring.verify('k9', message, signed.mac)).toBe(false);
  });
});

describe('loadMasterKey', () => {
  it('uses MASTER_KEY when set', () => {
    const material = randomBytes(32);
    expect(loadMasterKey({ masterKey: material, dataDir: '/nonexistent' }).export().equals(material)).toBe(
      true,
    );
  });

  it('generates DATA_DIR/master.key once, mode 0600, and reuses it', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'forecourt-key-'));
    const first = loadMasterKey({ masterKey: null, dataDir });
    expect(statSync(join(dataDir, 'master.key')).mode & 0o777).toBe(0o600);
    const second = loadMasterKey({ masterKey: null, dataDir });
    expect(second.export().equals(first.export())).toBe(true);
    expect(Buffer.from(readFileSync(join(dataDir, 'master.key'), 'utf8').trim(), 'base64')).toHaveLength(32);
  });

  it('refuses a key file others can read', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'forecourt-key-'));
    loadMasterKey({ masterKey: null, dataDir });
    chmodSync(join(dataDir, 'master.key'), 0o644);
    expect(() => loadMasterKey({ masterKey: null, dataDir })).toThrow(MasterKeyError);
  });
});
