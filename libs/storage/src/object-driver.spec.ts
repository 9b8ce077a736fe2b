import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { startS3Server } from '../../../test/harness/s3-server';
import { LocalObjectDriver } from './local-driver';
import { type ObjectDriver, ObjectKeyError } from './object-driver';
import { type S3DriverOptions, S3ObjectDriver } from './s3-driver';

const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;

/** A driver under test, plus a look at what an interrupted write could have left behind. */
interface Fixture {
  driver: ObjectDriver;
  /** Partial files (local) or multipart uploads still open (S3). */
  leftovers(): Promise<string[]>;
  close(): Promise<void>;
}

async function localFixture(): Promise<Fixture> {
  const root = await mkdtemp(join(tmpdir(), 'forecourt-driver-'));
  return {
    driver: new LocalObjectDriver(root),
    leftovers: async () =>
      (await readdir(root, { recursive: true })).filter((name) => name.endsWith('.partial')),
    close: () => rm(root, { recursive: true, force: true }),
  };
}

async function s3Fixture(checksums: S3DriverOptions['checksums']): Promise<Fixture> {
  const server = await startS3Server();
  const driver = new S3ObjectDriver(server.settings, { forcePathStyle: true, checksums });
  const { endpoint, region, bucket, accessKeyId, secretAccessKey } = server.settings;
  const client = new S3Client({
    endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
  });
  return {
    driver,
    leftovers: async () => {
      const { Uploads } = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      return (Uploads ?? []).map((upload) => `${upload.Key} (${upload.UploadId})`);
    },
    close: async () => {
      driver.close();
      client.destroy();
      await server.stop();
    },
  };
}

/**
 * `size` random bytes, made 64 KiB at a time and never held whole; with `failAfter`, the stream
 * errors with `failure` once that many bytes have gone out. `sha256()` is of what was produced.
 */
function generated(size: number, failAfter?: { bytes: number; failure: Error }) {
  const hash = createHash('sha256');
  function* chunks() {
    for (let sent = 0; sent < size; sent += CHUNK) {
      if (failAfter && sent >= failAfter.bytes) throw failAfter.failure;
      const chunk = randomBytes(Math.min(CHUNK, size - sent));
      hash.update(chunk);
      yield chunk;
    }
  }
  return { body: Readable.from(chunks(), { objectMode: false }), sha256: () => hash.digest('hex') };
}

async function sha256Of(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function text(stream: Readable | null): Promise<string | null> {
  if (!stream) return null;
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const small = (content: string) => Readable.from([Buffer.from(content)]);

/** A key prefix of its own for each test, as both fixtures live for the whole suite. */
const freshPrefix = () => `run-${randomBytes(4).toString('hex')}`;

describe.each([
  ['LocalObjectDriver', localFixture],
  // s3rver ignores checksums, so this checks only that neither setting breaks the SDK's requests;
  // when_required is what the app is told to use with servers that mishandle streaming checksums.
  ['S3ObjectDriver on s3rver, checksums when_required', () => s3Fixture('when_required')],
  ['S3ObjectDriver on s3rver, checksums when_supported', () => s3Fixture('when_supported')],
])('%s', (_name, start) => {
  let fixture: Fixture;
  let driver: ObjectDriver;

  beforeAll(async () => {
    fixture = await start();
    driver = fixture.driver;
  });
  afterAll(() => fixture?.close());

  it('is reachable', async () => {
    expect(await driver.reachable()).toBe(true);
  });

  it('streams a 20 MiB object (several S3 parts) in and back out unchanged', async () => {
    const key = `${freshPrefix()}/big.bin`;
    const source = generated(20 * MiB);
    await driver.write(key, source.body);
    const stream = await driver.read(key);
    expect(stream).not.toBeNull();
    expect(await sha256Of(stream!)).toBe(source.sha256());
  });

  it('stores an empty body as an empty object', async () => {
    const key = `${freshPrefix()}/empty`;
    await driver.write(key, Readable.from([]));
    expect(await text(await driver.read(key))).toBe('');
  });

  it('rejects with the body’s error when it fails midway, leaving no object, listing or partial upload', async () => {
    const prefix = freshPrefix();
    const failure = new Error('client went away');
    const { body } = generated(20 * MiB, { bytes: 9 * MiB, failure });

    await expect(driver.write(`${prefix}/broken.bin`, body)).rejects.toBe(failure);

    expect(body.destroyed).toBe(true);
    expect(await driver.read(`${prefix}/broken.bin`)).toBeNull();
    expect(await driver.list(prefix)).toEqual([]);
    expect(await fixture.leftovers()).toEqual([]);
  });

  it('keeps the previous object whole when an overwrite fails midway', async () => {
    const key = `${freshPrefix()}/kept`;
    await driver.write(key, small('first version'));
    const failure = new Error('disk full upstream');

    await expect(driver.write(key, generated(10 * MiB, { bytes: 9 * MiB, failure }).body)).rejects.toBe(
      failure,
    );

    expect(await text(await driver.read(key))).toBe('first version');
    expect(await fixture.leftovers()).toEqual([]);
  });

  it('replaces an object on a second write', async () => {
    const key = `${freshPrefix()}/note`;
    await driver.write(key, small('one'));
    await driver.write(key, small('two'));
    expect(await text(await driver.read(key))).toBe('two');
  });

  it('reads null for a missing key, including under an object and for a "folder" of objects', async () => {
    const prefix = freshPrefix();
    await driver.write(`${prefix}/folder/object`, small('x'));
    expect(await driver.read(`${prefix}/missing`)).toBeNull();
    expect(await driver.read(`${prefix}/folder/object/below`)).toBeNull();
    expect(await driver.read(`${prefix}/folder`)).toBeNull();
  });

  it('deletes an object, and deleting a missing one is no error', async () => {
    const prefix = freshPrefix();
    await driver.write(`${prefix}/gone`, small('bye'));
    await driver.delete(`${prefix}/gone`);
    expect(await driver.read(`${prefix}/gone`)).toBeNull();
    expect(await driver.list(prefix)).toEqual([]);
    await expect(driver.delete(`${prefix}/gone`)).resolves.toBeUndefined();
    await expect(driver.delete(`${prefix}/never/was`)).resolves.toBeUndefined();
  });

  it('lists every key under the prefix at any depth, in byte order, and nothing beside it', async () => {
    const prefix = freshPrefix();
    const inside = [`${prefix}/b`, `${prefix}/a/z`, `${prefix}/a/y/x`, `${prefix}/a-b`, `${prefix}/a.c`];
    const beside = [`${prefix}-sibling/c`, `${prefix}x`, `${prefix}`.slice(0, -1)];
    for (const key of [...inside, ...beside]) await driver.write(key, small(key));

    // '-' < '.' < '/' < letters: a flat byte-order sort, as S3 lists, not a folder-by-folder walk.
    expect(await driver.list(prefix)).toEqual([
      `${prefix}/a-b`,
      `${prefix}/a.c`,
      `${prefix}/a/y/x`,
      `${prefix}/a/z`,
      `${prefix}/b`,
    ]);
    expect(await driver.list(`${prefix}/a`)).toEqual([`${prefix}/a/y/x`, `${prefix}/a/z`]);
    expect(await driver.list(`${prefix}/nothing`)).toEqual([]);
    expect(await driver.list(`${prefix}/b`)).toEqual([]);
  });

  it('lists past one page (S3 answers at most 1000 keys a request)', async () => {
    const prefix = freshPrefix();
    const keys = Array.from({ length: 1005 }, (_, index) => `${prefix}/${String(index).padStart(4, '0')}`);
    for (let start = 0; start < keys.length; start += 50) {
      await Promise.all(keys.slice(start, start + 50).map((key) => driver.write(key, small('.'))));
    }
    expect(await driver.list(prefix)).toEqual(keys);
  });

  it.each(['../x', 'a//b', '/abs', '', 'a/../b', 'a/./b', 'a/', 'a\\b', 'a b'])(
    'refuses the key %j in every method',
    async (key) => {
      const body = small('never stored');
      await expect(driver.write(key, body)).rejects.toBeInstanceOf(ObjectKeyError);
      expect(body.destroyed).toBe(true);
      await expect(driver.read(key)).rejects.toBeInstanceOf(ObjectKeyError);
      await expect(driver.delete(key)).rejects.toBeInstanceOf(ObjectKeyError);
      await expect(driver.list(key)).rejects.toBeInstanceOf(ObjectKeyError);
    },
  );
});

describe('an object store that cannot take writes', () => {
  it('is unreachable: a local root that is a file, a bucket nobody serves, a bucket that does not exist', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'forecourt-unreachable-'));
    await writeFile(join(folder, 'objects'), 'not a folder');
    expect(await new LocalObjectDriver(join(folder, 'objects')).reachable()).toBe(false);
    await rm(folder, { recursive: true, force: true });

    const nobody = new S3ObjectDriver(
      {
        endpoint: 'http://127.0.0.1:9',
        bucket: 'b',
        region: 'us-east-1',
        accessKeyId: 'k',
        secretAccessKey: 's',
      },
      { forcePathStyle: true, checksums: 'when_required' },
    );
    expect(await nobody.reachable()).toBe(false);
    nobody.close();

    const server = await startS3Server();
    const missing = new S3ObjectDriver(
      { ...server.settings, bucket: 'no-such-bucket' },
      { forcePathStyle: true, checksums: 'when_required' },
    );
    expect(await missing.reachable()).toBe(false);
    missing.close();
    await server.stop();
  });
});
