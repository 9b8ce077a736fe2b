import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { Readable } from 'node:stream';
import type { AuditEvent, SealedAuditEvent } from './audit-event';
import {
  csvHeader,
  EXPORT_FORMAT_VERSION,
  type ExportFormat,
  ExportFormatError,
  type ExportRecord,
  formatRecord,
  readExport,
} from './audit-export';
import { GENESIS_HASH, sealEvents } from './chain';
import { keyHash, signCheckpoint, verifierKey } from './checkpoint-note';
import { type ExportVerification, verifierKeys, verifyExport } from './export-verifier';

const TENANT = '6f1c2a4e-8b3d-4c5e-9f10-123456789abc';
const SIGNED_AT = new Date('2025-03-02T00:00:00.000Z');
const FORMATS: ExportFormat[] = ['jsonl', 'csv'];

const signer = generateKeyPairSync('ed25519');
const stranger = generateKeyPairSync('ed25519');
type KeyPair = typeof signer;
const keysOf = (...keys: KeyObject[]) => new Map(keys.map((key) => [keyHash(key).toString('hex'), key]));

const hex = (n: number) => n.toString(16).padStart(12, '0');

/** Text that CSV and JSON must both carry through: separators, quotes, line breaks, non-ASCII. */
const AWKWARD = [
  'Mozilla/5.0 (X11; Linux x86_64), "quoted", \'single\'',
  'two\nlines',
  'crlf\r\nand a lone\rcarriage return',
  'Ünïcødé — 日本語 🚗',
  ' leading and trailing spaces ',
  'line\u2028separator\u2029and\u0085next line',
  '"',
  ',',
  'tab\there\u0000nul',
];

function eventsOf(count: number): AuditEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    tenantId: TENANT,
    id: `0193a1b2-c3d4-7e5f-8a9b-${hex(i + 1)}`,
    at: new Date(Date.UTC(2025, 2, 1, 9, 0, i)).toISOString(),
    actorId: i % 3 === 0 ? null : `1b2c3d4e-5f60-4718-9a2b-${hex(i % 7)}`,
    actorRole: i % 3 === 0 ? 'system' : 'manager',
    supportGrantId: i % 11 === 0 ? '5a5a5a5a-0000-4000-8000-000000000000' : null,
    action: i % 2 === 0 ? 'customer.read' : 'customer.updated',
    subjectType: 'customer',
    subjectId: i % 5 === 0 ? null : `c0ffee00-0000-4000-8000-${hex(i)}`,
    subjectIds:
      i % 5 === 0
        ? i % 10 === 0
          ? []
          : [`c0ffee00-0000-4000-8000-${hex(i)}`, 'id, with "comma"\nand newline']
        : null,
    storeId: i % 4 === 0 ? null : '5707e000-0000-4000-8000-000000000001',
    requestId: i % 6 === 0 ? null : `req-${i}`,
    ip: i % 6 === 0 ? null : '2001:db8::1',
    userAgent: i % 8 === 7 ? null : AWKWARD[i % AWKWARD.length]!,
    outcome: i % 9 === 0 ? 'denied' : 'allowed',
    reason: i % 2 === 0 ? AWKWARD[(i + 3) % AWKWARD.length]! : null,
    changedFields: i % 2 === 1 ? (i % 4 === 1 ? ['email', 'phone'] : []) : null,
  }));
}

const chain: readonly SealedAuditEvent[] = sealEvents({ seq: 0, hash: GENESIS_HASH }, eventsOf(50));

const noteOf = (events: readonly SealedAuditEvent[], seq: number, key: KeyPair = signer) =>
  signCheckpoint(
    key.privateKey,
    key.publicKey,
    { tenantId: TENANT, seq, hash: events[seq - 1]!.hash },
    SIGNED_AT,
  ).note;

interface Export {
  /** The CSV column line, the header record and the checkpoint records. */
  head: string[];
  /** One formatted record (a line, or a CSV row that may span lines) per event, in order. */
  events: string[];
}

function exportOf(
  format: ExportFormat,
  options: {
    events?: readonly SealedAuditEvent[];
    checkpoints?: readonly number[];
    key?: KeyPair;
    headerKeys?: string[];
    format?: string;
  } = {},
): Export {
  const events = options.events ?? chain;
  const key = options.key ?? signer;
  const header: ExportRecord = {
    type: 'header',
    format: options.format ?? EXPORT_FORMAT_VERSION,
    tenantId: TENANT,
    exportedAt: '2025-03-02T01:00:00.000Z',
    keys: options.headerKeys ?? [verifierKey(key.publicKey)],
  };
  return {
    head: [
      ...(format === 'csv' ? [csvHeader()] : []),
      formatRecord(format, header),
      ...(options.checkpoints ?? [10, 20, 30, 40, 50]).map((seq) =>
        formatRecord(format, { type: 'checkpoint', note: noteOf(events, seq, key) }),
      ),
    ],
    events: events.map((event) => formatRecord(format, { type: 'event', ...event })),
  };
}
const textOf = (file: Export) => [...file.head, ...file.events].join('');

const check = (text: string, format: ExportFormat, keys: ReadonlyMap<string, KeyObject> | null = null) =>
  verifyExport(Readable.from([text]), format, keys);

const brokenAt = (seq: number) => ({ ok: false, firstInvalidSeq: seq, verifiedThroughSeq: seq - 1 });

async function recordsOf(input: Readable, format: ExportFormat): Promise<ExportRecord[]> {
  const records: ExportRecord[] = [];
  for await (const record of readExport(input, format)) records.push(record);
  return records;
}

describe('formatRecord / readExport', () => {
  it('writes a CSV header naming every column', () => {
    expect(csvHeader()).toBe(
      'record,seq,tenantId,id,at,actorId,actorRole,supportGrantId,action,subjectType,subjectId,subjectIds,' +
        'storeId,requestId,ip,userAgent,outcome,reason,changedFields,prevHash,hash,value\n',
    );
  });

  it('writes one JSON object a line', () => {
    const lines = textOf(exportOf('jsonl')).split('\n');
    expect(lines).toHaveLength(1 + 5 + 50 + 1);
    expect(lines.at(-1)).toBe('');
    expect(JSON.parse(lines[6]!)).toEqual({ type: 'event', ...chain[0] });
  });

  it.each(FORMATS)(
    'reads every event of a %s export back exactly, nulls, lists and awkward text included',
    async (format) => {
      const records = await recordsOf(Readable.from([textOf(exportOf(format))]), format);
      expect(records).toHaveLength(1 + 5 + 50);
      expect(records[0]).toMatchObject({ type: 'header', format: EXPORT_FORMAT_VERSION, tenantId: TENANT });
      expect(records.slice(1, 6)).toEqual(
        [10, 20, 30, 40, 50].map((seq) => ({ type: 'checkpoint', note: noteOf(chain, seq) })),
      );
      expect(records.slice(6)).toEqual(chain.map((event) => ({ type: 'event', ...event })));
    },
  );

  it.each(FORMATS)('reads a %s export delivered in small chunks that split characters', async (format) => {
    const bytes = Buffer.from(textOf(exportOf(format)), 'utf8');
    const chunks = Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) =>
      bytes.subarray(i * 7, i * 7 + 7),
    );
    const records = await recordsOf(Readable.from(chunks), format);
    expect(records.slice(6)).toEqual(chain.map((event) => ({ type: 'event', ...event })));
  });
});

describe('verifyExport', () => {
  describe.each(FORMATS)('a %s export', (format) => {
    it('passes intact, checked with its own keys', async () => {
      expect(await check(textOf(exportOf(format)), format)).toEqual<ExportVerification>({
        ok: true,
        verifiedThroughSeq: 50,
        firstInvalidSeq: null,
        reason: null,
        checkpointsChecked: 5,
        tenantId: TENANT,
        keysFrom: 'export',
      });
    });

    it('passes intact, checked with the keys given', async () => {
      expect(await check(textOf(exportOf(format)), format, keysOf(signer.publicKey))).toMatchObject({
        ok: true,
        verifiedThroughSeq: 50,
        checkpointsChecked: 5,
        keysFrom: 'given',
      });
    });

    it('finds a changed field at its event', async () => {
      const file = exportOf(format);
      const original = file.events[16]!;
      file.events[16] = original.replace('2025-03-01T09:00:16.000Z', '2025-03-01T09:00:16.001Z');
      expect(file.events[16]).not.toBe(original);
      expect(await check(textOf(file), format)).toMatchObject(brokenAt(17));
    });

    it('finds changed awkward text at its event', async () => {
      const file = exportOf(format);
      const original = file.events[12]!;
      expect(original).toContain('日本語');
      file.events[12] = original.replace('日本語', '日本');
      expect(await check(textOf(file), format)).toMatchObject(brokenAt(13));
    });

    it('finds a deleted line', async () => {
      const file = exportOf(format);
      file.events.splice(22, 1);
      expect(await check(textOf(file), format)).toMatchObject(brokenAt(23));
    });

    it('finds reordered lines', async () => {
      const file = exportOf(format);
      [file.events[29], file.events[30]] = [file.events[30]!, file.events[29]!];
      expect(await check(textOf(file), format)).toMatchObject(brokenAt(30));
    });

    it('finds its end cut off after a checkpoint', async () => {
      const file = exportOf(format);
      file.events.splice(45);
      expect(await check(textOf(file), format)).toMatchObject(brokenAt(46));
      expect(await check(textOf(file), format, keysOf(signer.publicKey))).toMatchObject(brokenAt(46));
    });

    it('finds a checkpoint removed from a cut-off export only by the one that remains', async () => {
      const file = exportOf(format, { checkpoints: [10, 20, 30, 40] });
      file.events.splice(45);
      // What an export without its last checkpoint cannot show: nothing says the chain went on.
      expect(await check(textOf(file), format)).toMatchObject({ ok: true, verifiedThroughSeq: 45 });
    });

    it('refuses a file cut in the middle of a line', async () => {
      const text = textOf(exportOf(format));
      await expect(check(text.slice(0, text.length - 40), format)).rejects.toThrow();
    });

    it('is not ok when its checkpoints are signed by a key other than the trusted one', async () => {
      const file = exportOf(format, { key: stranger });
      expect(await check(textOf(file), format)).toMatchObject({ ok: true, keysFrom: 'export' });
      expect(await check(textOf(file), format, keysOf(signer.publicKey))).toMatchObject({
        ok: false,
        keysFrom: 'given',
      });
      expect(await check(textOf(exportOf(format)), format, keysOf(stranger.publicKey))).toMatchObject({
        ok: false,
        firstInvalidSeq: 10,
      });
    });

    it('tells a forged, re-sealed and re-signed export apart only with trusted keys', async () => {
      const forged = sealEvents(
        { seq: 0, hash: GENESIS_HASH },
        chain.map((event) =>
          event.seq === 17 ? { ...event, outcome: 'allowed' as const, reason: null } : event,
        ),
      );
      const file = exportOf(format, { events: forged, key: stranger });
      expect(await check(textOf(file), format)).toMatchObject({ ok: true, keysFrom: 'export' });
      expect(await check(textOf(file), format, keysOf(signer.publicKey))).toMatchObject({
        ok: false,
        keysFrom: 'given',
      });
    });

    it('is not ok when its header names no key for its checkpoints', async () => {
      expect(await check(textOf(exportOf(format, { headerKeys: [] })), format)).toMatchObject({ ok: false });
    });

    it('refuses a file without a header, of another format version, or with a checkpoint after an event', async () => {
      const file = exportOf(format);
      const headless = [...file.head.filter((_line, i) => i !== (format === 'csv' ? 1 : 0)), ...file.events];
      await expect(check(headless.join(''), format)).rejects.toThrow(ExportFormatError);
      await expect(
        check(textOf(exportOf(format, { format: 'forecourt-audit-export/2' })), format),
      ).rejects.toThrow(ExportFormatError);
      const late = [...file.head, file.events[0]!, file.head.at(-1)!, ...file.events.slice(1)];
      await expect(check(late.join(''), format)).rejects.toThrow(ExportFormatError);
    });
  });

  it('refuses an empty file', async () => {
    await expect(check('', 'jsonl')).rejects.toThrow(ExportFormatError);
    await expect(check(csvHeader(), 'csv')).rejects.toThrow(ExportFormatError);
  });
});

describe('verifierKeys', () => {
  it('reads one key a line, skipping blank lines', () => {
    const keys = verifierKeys([
      '',
      `  ${verifierKey(signer.publicKey)}`,
      verifierKey(stranger.publicKey),
      '  ',
    ]);
    expect([...keys.keys()].sort()).toEqual(
      [keyHash(signer.publicKey).toString('hex'), keyHash(stranger.publicKey).toString('hex')].sort(),
    );
    expect(keys.get(keyHash(signer.publicKey).toString('hex'))?.equals(signer.publicKey)).toBe(true);
  });

  it('refuses a line that is not a verifier key', () => {
    expect(() => verifierKeys([verifierKey(signer.publicKey), 'forecourt-audit+00000000+AAAA'])).toThrow(
      ExportFormatError,
    );
  });
});
