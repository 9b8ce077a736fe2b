import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@forecourt/config';
import { ObjectKeyError, ObjectStore } from './object-store';

describe('ObjectStore (local files)', () => {
  let dataDir: string;
  let store: ObjectStore;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'forecourt-objects-'));
    store = new ObjectStore(
      loadConfig({ DATA_DIR: dataDir, MASTER_KEY: Buffer.alloc(32, 1).toString('base64') }),
    );
  });
  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  it('stores, reads back and lists objects, leaving no partial files', async () => {
    await store.put('tenants/t1/audit/2.note', 'two');
    await store.put('tenants/t1/audit/1.note', Buffer.from('one'));
    expect((await store.get('tenants/t1/audit/1.note'))?.toString()).toBe('one');
    expect(await store.list('tenants/t1/audit')).toEqual([
      'tenants/t1/audit/1.note',
      'tenants/t1/audit/2.note',
    ]);
    expect(await readdir(join(dataDir, 'objects/tenants/t1/audit'))).toHaveLength(2);
  });

  it('answers null and an empty list for what does not exist', async () => {
    expect(await store.get('tenants/none/x')).toBeNull();
    expect(await store.list('tenants/none')).toEqual([]);
  });

  it.each(['../escape', 'a/../../b', '/absolute', 'a//b', 'a/./b', 'a\\b', ''])(
    'refuses the key %j',
    async (key) => {
      await expect(store.put(key, 'x')).rejects.toBeInstanceOf(ObjectKeyError);
      await expect(store.get(key)).rejects.toBeInstanceOf(ObjectKeyError);
    },
  );
});
