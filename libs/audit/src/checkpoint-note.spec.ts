import { createHash, generateKeyPairSync, type KeyObject, verify } from 'node:crypto';
import {
  type Checkpoint,
  keyHash,
  openCheckpoint,
  parseVerifierKey,
  signCheckpoint,
  verifierKey,
} from './checkpoint-note';

const TENANT = '6f1c2a4e-8b3d-4c5e-9f10-123456789abc';
const OTHER_TENANT = '0a0b0c0d-1111-4222-8333-444455556666';
const HEAD_HASH = createHash('sha256').update('event 50').digest('hex');
const SIGNED_AT = new Date('2025-03-01T10:00:00.000Z');

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');

/** The raw 32-byte public key, read from the SPKI DER (not through JWK as the library does). */
const raw = (key: KeyObject) => key.export({ format: 'der', type: 'spki' }).subarray(-32);
/** The signed-note key id, from its definition. */
const idOf = (key: KeyObject) =>
  createHash('sha256')
    .update(Buffer.concat([Buffer.from('forecourt-audit\n', 'utf8'), Buffer.from([1]), raw(key)]))
    .digest()
    .subarray(0, 4)
    .toString('hex');
const keysOf = (...keys: KeyObject[]) => new Map(keys.map((key) => [idOf(key), key]));

const checkpoint = signCheckpoint(
  privateKey,
  publicKey,
  { tenantId: TENANT, seq: 50, hash: HEAD_HASH },
  SIGNED_AT,
);
const note = checkpoint.note;
const trusted = keysOf(publicKey);

/** The text above the blank line, and the key id ‖ signature of the signature line. */
function partsOf(text: string): { body: string; blob: Buffer } {
  const split = text.indexOf('\n\n');
  const line = /^\u2014 forecourt-audit ([A-Za-z0-9+/]+=*)\n$/.exec(text.slice(split + 2));
  if (split < 0 || !line) throw new Error('not a note');
  return { body: text.slice(0, split + 1), blob: Buffer.from(line[1]!, 'base64') };
}
const withBlob = (body: string, blob: Buffer) =>
  `${body}\n\u2014 forecourt-audit ${blob.toString('base64')}\n`;

describe('signCheckpoint', () => {
  it('writes the C2SP checkpoint note: origin, size, base64 hash, time, blank line, signature', () => {
    const lines = note.split('\n');
    expect(lines).toHaveLength(7);
    expect(lines[0]).toBe(`forecourt/audit/${TENANT}`);
    expect(lines[1]).toBe('50');
    expect(lines[2]).toBe(Buffer.from(HEAD_HASH, 'hex').toString('base64'));
    expect(lines[2]).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(lines[3]).toBe('time 2025-03-01T10:00:00.000Z');
    expect(lines[4]).toBe('');
    // 4 + 64 bytes: 91 base64 characters and one '='.
    expect(lines[5]).toMatch(/^\u2014 forecourt-audit [A-Za-z0-9+/]{91}=$/);
    expect(lines[6]).toBe('');
  });

  it('signs the body with Ed25519, prefixed by the key hash, checkable with any Ed25519 verifier', () => {
    const { body, blob } = partsOf(note);
    expect(body).toBe(
      `forecourt/audit/${TENANT}\n50\n${Buffer.from(HEAD_HASH, 'hex').toString('base64')}\n` +
        'time 2025-03-01T10:00:00.000Z\n',
    );
    expect(blob).toHaveLength(68);
    expect(blob.subarray(0, 4).toString('hex')).toBe(idOf(publicKey));
    expect(verify(null, Buffer.from(body, 'utf8'), publicKey, blob.subarray(4))).toBe(true);
    expect(verify(null, Buffer.from(body + ' ', 'utf8'), publicKey, blob.subarray(4))).toBe(false);
    expect(verify(null, Buffer.from(body, 'utf8'), other.publicKey, blob.subarray(4))).toBe(false);
  });

  it('describes what it signed', () => {
    expect(checkpoint).toEqual<Checkpoint>({
      tenantId: TENANT,
      seq: 50,
      hash: HEAD_HASH,
      signedAt: '2025-03-01T10:00:00.000Z',
      keyId: idOf(publicKey),
      note,
    });
  });
});

describe('keyHash', () => {
  it('is the first 4 bytes of SHA-256(name ‖ "\\n" ‖ 0x01 ‖ public key)', () => {
    expect(keyHash(publicKey).toString('hex')).toBe(idOf(publicKey));
    expect(keyHash(publicKey)).toHaveLength(4);
    expect(keyHash(other.publicKey).toString('hex')).not.toBe(idOf(publicKey));
  });
});

describe('openCheckpoint', () => {
  it('round-trips a signed checkpoint', () => {
    expect(openCheckpoint(note, trusted)).toEqual(checkpoint);
    expect(openCheckpoint(note, keysOf(other.publicKey, publicKey))).toEqual(checkpoint);
  });

  it('round-trips the platform chain and a large seq', () => {
    const head = { tenantId: '00000000-0000-0000-0000-000000000000', seq: 2 ** 40 + 3, hash: HEAD_HASH };
    const signed = signCheckpoint(privateKey, publicKey, head, SIGNED_AT);
    expect(openCheckpoint(signed.note, trusted)).toEqual(signed);
  });

  it('refuses a note signed by a key it does not know', () => {
    expect(openCheckpoint(note, new Map())).toBeNull();
    expect(openCheckpoint(note, keysOf(other.publicKey))).toBeNull();
    // The right key id, but mapped to another key.
    expect(openCheckpoint(note, new Map([[idOf(publicKey), other.publicKey]]))).toBeNull();
    const byOther = signCheckpoint(
      other.privateKey,
      other.publicKey,
      { tenantId: TENANT, seq: 50, hash: HEAD_HASH },
      SIGNED_AT,
    );
    expect(openCheckpoint(byOther.note, trusted)).toBeNull();
  });

  it('refuses a note claiming a key id it was not signed with', () => {
    const { body, blob } = partsOf(note);
    const relabelled = Buffer.concat([Buffer.from(idOf(other.publicKey), 'hex'), blob.subarray(4)]);
    expect(openCheckpoint(withBlob(body, relabelled), keysOf(publicKey, other.publicKey))).toBeNull();
  });

  it("refuses a note moved to another tenant's origin", () => {
    const moved = note.replace(`forecourt/audit/${TENANT}\n`, `forecourt/audit/${OTHER_TENANT}\n`);
    expect(moved).not.toBe(note);
    expect(openCheckpoint(moved, trusted)).toBeNull();
  });

  it('refuses an origin that is not a forecourt tenant chain, even when signed', () => {
    const signed = signCheckpoint(
      privateKey,
      publicKey,
      { tenantId: 'acme', seq: 5, hash: HEAD_HASH },
      SIGNED_AT,
    );
    expect(openCheckpoint(signed.note, trusted)).toBeNull();
  });

  it.each([
    ['size', (text: string) => text.replace('\n50\n', '\n51\n')],
    [
      'hash',
      (text: string) => text.replace(Buffer.from(HEAD_HASH, 'hex').toString('base64'), 'A'.repeat(43) + '='),
    ],
    ['time', (text: string) => text.replace('10:00:00.000Z', '10:00:01.000Z')],
    ['set of extension lines', (text: string) => text.replace('\n\n', '\nextra\n\n')],
  ])('refuses a note with a changed %s', (_case, change) => {
    const changed = change(note);
    expect(changed).not.toBe(note);
    expect(openCheckpoint(changed, trusted)).toBeNull();
  });

  it('refuses every single-bit change anywhere in the body', () => {
    const { body } = partsOf(note);
    const bytes = Buffer.from(note, 'utf8');
    const accepted: string[] = [];
    for (let i = 0; i < Buffer.byteLength(body, 'utf8') + 1; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const flipped = Buffer.from(bytes);
        flipped[i]! ^= 1 << bit;
        if (openCheckpoint(flipped.toString('utf8'), trusted)) accepted.push(`byte ${i} bit ${bit}`);
      }
    }
    expect(accepted).toEqual([]);
  });

  it('refuses every single-bit change of the key id and signature bytes', () => {
    const { body, blob } = partsOf(note);
    const accepted: string[] = [];
    for (let i = 0; i < blob.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const flipped = Buffer.from(blob);
        flipped[i]! ^= 1 << bit;
        if (openCheckpoint(withBlob(body, flipped), trusted)) accepted.push(`byte ${i} bit ${bit}`);
      }
    }
    expect(accepted).toEqual([]);
    expect(openCheckpoint(withBlob(body, blob), trusted)).toEqual(checkpoint);
  });

  it('refuses a flipped byte in the signature line up to its last base64 character', () => {
    const bytes = Buffer.from(note, 'utf8');
    const from = Buffer.byteLength(partsOf(note).body, 'utf8') + 1;
    // Up to the last base64 character: it carries two padding bits, which the lenient base64
    // decoder ignores, so a flip there can decode to the same signature; the '=' and '\n' after it
    // are left out for the same reason.
    const to = bytes.length - 3;
    const accepted: number[] = [];
    for (let i = from; i < to; i++) {
      const flipped = Buffer.from(bytes);
      flipped[i]! ^= 0x01;
      if (openCheckpoint(flipped.toString('utf8'), trusted)) accepted.push(i);
    }
    expect(to - from).toBeGreaterThan(100);
    expect(accepted).toEqual([]);
  });

  it('refuses a note truncated anywhere before the end of its signature', () => {
    const accepted: number[] = [];
    for (let length = 0; length <= note.length - 3; length++) {
      if (openCheckpoint(note.slice(0, length), trusted)) accepted.push(length);
    }
    expect(accepted).toEqual([]);
  });

  it('refuses a note without its signature line, or with the signature line of another note', () => {
    const { body } = partsOf(note);
    expect(openCheckpoint(`${body}\n`, trusted)).toBeNull();
    const another = signCheckpoint(
      privateKey,
      publicKey,
      { tenantId: TENANT, seq: 49, hash: HEAD_HASH },
      SIGNED_AT,
    );
    expect(openCheckpoint(`${body}\n${another.note.split('\n\n')[1]}`, trusted)).toBeNull();
  });

  it('accepts only the canonical text: the final newline and canonical base64 are required', () => {
    expect(openCheckpoint(note.slice(0, -1), trusted)).toBeNull();
    expect(openCheckpoint(note.slice(0, -2) + '\n', trusted)).toBeNull();
    const signature = note.slice(0, -1).split(' ').pop()!;
    const last = signature.replace(/=+$/, '').slice(-1);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    // Same decoded bytes, different padding bits: a second spelling of one signature.
    const sibling = alphabet[alphabet.indexOf(last) ^ 1]!;
    const respelled = note.replace(`${signature}\n`, signature.replace(/.(=*)$/, `${sibling}$1`) + '\n');
    expect(Buffer.from(respelled.slice(0, -1).split(' ').pop()!, 'base64')).toEqual(
      Buffer.from(signature, 'base64'),
    );
    expect(openCheckpoint(respelled, trusted)).toBeNull();
  });

  it('ignores signature lines of keys it does not know and finds the trusted one', () => {
    const { body, blob } = partsOf(note);
    const foreign = partsOf(
      signCheckpoint(
        other.privateKey,
        other.publicKey,
        { tenantId: TENANT, seq: 50, hash: HEAD_HASH },
        SIGNED_AT,
      ).note,
    ).blob;
    const twoSigned = `${body}\n\u2014 forecourt-audit ${foreign.toString('base64')}\n\u2014 forecourt-audit ${blob.toString('base64')}\n`;
    expect(openCheckpoint(twoSigned, trusted)).toMatchObject({ seq: 50, keyId: idOf(publicKey) });
    expect(openCheckpoint(twoSigned, keysOf(other.publicKey))).toMatchObject({
      keyId: idOf(other.publicKey),
    });
  });
});

describe('verifierKey / parseVerifierKey', () => {
  const text = verifierKey(publicKey);

  it('writes <name>+<hex key hash>+<base64(0x01 ‖ key)>', () => {
    const expected = `forecourt-audit+${idOf(publicKey)}+${Buffer.concat([Buffer.from([1]), raw(publicKey)]).toString('base64')}`;
    expect(text).toBe(expected);
  });

  it('round-trips, surrounding whitespace allowed', () => {
    for (const input of [text, `  ${text}\n`]) {
      const parsed = parseVerifierKey(input);
      expect(parsed?.keyId).toBe(idOf(publicKey));
      expect(parsed?.key.equals(publicKey)).toBe(true);
    }
  });

  it('gives keys that open the notes of their private key', () => {
    const parsed = parseVerifierKey(text)!;
    expect(openCheckpoint(note, new Map([[parsed.keyId, parsed.key]]))).toEqual(checkpoint);
  });

  it('rejects a key string whose hash part does not match its key', () => {
    const [name, id, key] = text.split('+') as [string, string, string];
    const wrongId = ((parseInt(id, 16) ^ 1) >>> 0).toString(16).padStart(8, '0');
    expect(parseVerifierKey(`${name}+${wrongId}+${key}`)).toBeNull();
    expect(parseVerifierKey(`${name}+${idOf(other.publicKey)}+${key}`)).toBeNull();
    const otherKey = verifierKey(other.publicKey).split('+')[2]!;
    expect(parseVerifierKey(`${name}+${id}+${otherKey}`)).toBeNull();
  });

  it.each([
    ['another name', (t: string) => t.replace(/^forecourt-audit\+/, 'sigsum+')],
    [
      'a key of the wrong length',
      (t: string) => `${t.slice(0, t.lastIndexOf('+') + 1)}${Buffer.alloc(32, 1).toString('base64')}`,
    ],
    [
      'a key of another algorithm type byte',
      (t: string) => {
        const [name, id, key] = t.split('+') as [string, string, string];
        const bytes = Buffer.from(key, 'base64');
        bytes[0] = 0x02;
        return `${name}+${id}+${bytes.toString('base64')}`;
      },
    ],
    ['garbage', () => 'not a key'],
    ['an empty string', () => ''],
  ])('rejects %s', (_case, change) => {
    const changed = change(text);
    expect(changed).not.toBe(text);
    expect(parseVerifierKey(changed)).toBeNull();
  });
});
