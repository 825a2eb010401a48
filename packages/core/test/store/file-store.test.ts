import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, type NetModeError } from '../../src/errors.js';
import { FileLock } from '../../src/store/file-lock.js';
import { killChildren, requireBuilt, runTogether } from '../support/children.js';
import { FileStateStore } from '../../src/store/file-store.js';
import { UnreadableRecord, type StateStore } from '../../src/store/state-store.js';

const COUNT = fileURLToPath(new URL('./fixtures/count.mjs', import.meta.url));

let dirs: string[] = [];

afterEach(async () => {
  killChildren();
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  dirs = [];
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'netmode-test-'));
  dirs.push(dir);
  return dir;
}

async function rejection(promise: Promise<unknown>): Promise<NetModeError> {
  return (await promise.then(
    () => expect.fail('expected a rejection'),
    (e: unknown) => e,
  )) as NetModeError;
}

/** One read-modify-write of the counter, yielding in between so a missing lock would lose updates. */
function increment(store: StateStore): Promise<void> {
  return store.transaction(async (tx) => {
    const value = (await tx.get<number>('counter/value')) ?? 0;
    await yieldToLoop();
    tx.put('counter/value', value + 1);
  });
}

/** Runs `processes` children that each increment the counter `perChild` times, all starting together. */
async function countInChildren(dir: string, processes: number, perChild: number): Promise<void> {
  const outputs = await runTogether(
    COUNT,
    Array.from({ length: processes }, () => [dir, String(perChild)]),
  );
  for (const out of outputs) expect(out).toContain('done');
}

describe('FileStateStore', () => {
  it('round-trips put, get, list and delete, one JSON file per key', async () => {
    const dir = await tempDir();
    const store = new FileStateStore(dir);
    await store.transaction(async (tx) => {
      tx.put('endpoints/web', { ip: '10.0.0.2' });
      tx.put('endpoints/db', { ip: '10.0.0.3' });
      tx.put('endpoints/db/extra', [1, 2]);
      tx.put('endpointsx/other', true);
    });
    expect(await store.get('endpoints/web')).toEqual({ ip: '10.0.0.2' });
    expect(JSON.parse(await readFile(join(dir, 'endpoints', 'web.json'), 'utf8'))).toEqual({ ip: '10.0.0.2' });
    expect(await store.list('endpoints')).toEqual([
      { key: 'endpoints/db', value: { ip: '10.0.0.3' } },
      { key: 'endpoints/db/extra', value: [1, 2] },
      { key: 'endpoints/web', value: { ip: '10.0.0.2' } },
    ]);
    expect(await store.list('networks')).toEqual([]);

    await store.transaction(async (tx) => tx.delete('endpoints/web'));
    await store.transaction(async (tx) => tx.delete('never/was'));
    expect(await store.get('endpoints/web')).toBeUndefined();
    expect((await store.list('endpoints')).map((e) => e.key)).toEqual(['endpoints/db', 'endpoints/db/extra']);
    // Committed: no lock, journal or temporary file is left behind.
    expect((await readdir(dir)).sort()).toEqual(['endpoints', 'endpointsx']);
    expect((await readdir(join(dir, 'endpoints'))).sort()).toEqual(['db', 'db.json']);
  });

  it('returns the transaction result, and durable: false stores the same', async () => {
    const store = new FileStateStore(await tempDir(), { durable: false });
    expect(await store.transaction(async (tx) => (tx.put('a/b', 1), 'result'))).toBe('result');
    expect(await store.get('a/b')).toBe(1);
  });

  it('discards every write of a transaction that throws and rethrows its error', async () => {
    const dir = await tempDir();
    const store = new FileStateStore(dir);
    await store.transaction(async (tx) => tx.put('a/keep', 1));
    const failure = new Error('boom');
    const error = await rejection(
      store.transaction(async (tx) => {
        tx.put('a/keep', 2);
        tx.put('a/new', 3);
        tx.delete('a/keep');
        throw failure;
      }),
    );
    expect(error).toBe(failure);
    expect(await store.list('a')).toEqual([{ key: 'a/keep', value: 1 }]);
    expect(existsSync(join(dir, 'lock'))).toBe(false);
  });

  it('lets a transaction read its own pending writes, which others see only after commit', async () => {
    const store = new FileStateStore(await tempDir());
    await store.transaction(async (tx) => {
      tx.put('n/a', 1);
      tx.put('n/b', 2);
    });
    await store.transaction(async (tx) => {
      tx.put('n/a', 10);
      tx.delete('n/b');
      tx.put('n/c', { x: 1 });
      expect(await tx.get('n/a')).toBe(10);
      expect(await tx.get('n/b')).toBeUndefined();
      expect(await tx.list('n')).toEqual([
        { key: 'n/a', value: 10 },
        { key: 'n/c', value: { x: 1 } },
      ]);
      expect(await store.get('n/a')).toBe(1);
      expect(await store.list('n')).toHaveLength(2);
    });
    expect(await store.list('n')).toEqual([
      { key: 'n/a', value: 10 },
      { key: 'n/c', value: { x: 1 } },
    ]);
  });

  it('replays a journal left by a commit killed half-way before the next transaction', async () => {
    const dir = await tempDir();
    const store = new FileStateStore(dir);
    await store.transaction(async (tx) => {
      tx.put('ipam/old', 'lease');
      tx.put('ipam/kept', 'unchanged');
    });
    // What a multi-change commit writes before applying anything.
    const journal = [
      '{"version":1,"ops":[',
      '{"op":"put","key":"ipam/new","value":{"ip":"10.0.0.9"}},',
      '{"op":"put","key":"net/deep/x","value":[true]},',
      '{"op":"delete","key":"ipam/old"}',
      ']}',
    ].join('\n');
    await writeFile(join(dir, 'journal'), journal, { mode: 0o600 });
    expect(await store.get('ipam/new')).toBeUndefined();

    const seen = await new FileStateStore(dir).transaction(async (tx) => tx.list('ipam'));
    expect(seen).toEqual([
      { key: 'ipam/kept', value: 'unchanged' },
      { key: 'ipam/new', value: { ip: '10.0.0.9' } },
    ]);
    expect(await store.get('net/deep/x')).toEqual([true]);
    expect(existsSync(join(dir, 'journal'))).toBe(false);
  });

  it('journals a commit of several changes, so one that fails half-way is completed later', async () => {
    const dir = await tempDir();
    const store = new FileStateStore(dir);
    // A directory where n/b.json should go makes the second change fail.
    await mkdir(join(dir, 'n', 'b.json'), { recursive: true });
    await rejection(
      store.transaction(async (tx) => {
        tx.put('n/a', 1);
        tx.put('n/b', 2);
      }),
    );
    expect(await store.get('n/a')).toBe(1);
    expect(existsSync(join(dir, 'journal'))).toBe(true);

    await rm(join(dir, 'n', 'b.json'), { recursive: true });
    await store.transaction(async () => undefined);
    expect(await store.list('n')).toEqual([
      { key: 'n/a', value: 1 },
      { key: 'n/b', value: 2 },
    ]);
    expect(existsSync(join(dir, 'journal'))).toBe(false);
  });

  it('reports a corrupt journal as ERR_STATE_CORRUPT and applies none of it', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'journal'), '{"version":1,"ops":[{"op":"put","key":"../etc/x","value":1}]}');
    const error = await rejection(new FileStateStore(dir).transaction(async () => undefined));
    expect(error.code).toBe(ErrorCode.STATE_CORRUPT);
    expect(error.context).toMatchObject({ path: join(dir, 'journal') });
  });

  it('creates directories with mode 0700 and files with mode 0600, whatever the umask', async () => {
    const dir = join(await tempDir(), 'state');
    const store = new FileStateStore(dir);
    // A umask that narrows the owner's bits shows the modes are set, not
    // left to the umask; one new level per directory keeps this working
    // without root.
    const umask = process.umask(0o277);
    try {
      await store.transaction(async (tx) => {
        tx.put('a/b', 1);
        tx.put('top', 2);
      });
    } finally {
      process.umask(umask);
    }
    for (const d of [dir, join(dir, 'a')]) {
      expect({ d, mode: statSync(d).mode & 0o777 }).toEqual({ d, mode: 0o700 });
    }
    for (const f of [join(dir, 'a', 'b.json'), join(dir, 'top.json')]) {
      expect({ f, mode: statSync(f).mode & 0o777 }).toEqual({ f, mode: 0o600 });
    }
  });

  it('reports a record that is not JSON as ERR_STATE_CORRUPT naming the file, and lists it apart from the others', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'endpoints'));
    const path = join(dir, 'endpoints', 'web.json');
    await writeFile(path, '{"ip": "10.0.');
    await writeFile(join(dir, 'endpoints', 'db.json'), '{"ip": "10.0.0.3"}');
    const store = new FileStateStore(dir);
    for (const attempt of [store.get('endpoints/web'), store.transaction(async (tx) => tx.get('endpoints/web'))]) {
      const error = await rejection(attempt);
      expect(error.code).toBe(ErrorCode.STATE_CORRUPT);
      expect(error.message).toContain(path);
      expect(error.context).toMatchObject({ path, key: 'endpoints/web' });
    }
    // One damaged record hides nothing else from a listing.
    for (const listing of [await store.list('endpoints'), await store.transaction((tx) => tx.list('endpoints'))]) {
      expect(listing.map((e) => e.key)).toEqual(['endpoints/db', 'endpoints/web']);
      expect(listing[0]?.value).toEqual({ ip: '10.0.0.3' });
      expect(listing[1]?.value).toBeInstanceOf(UnreadableRecord);
      expect(listing[1]?.value).toMatchObject({ key: 'endpoints/web', location: path, text: '{"ip": "10.0.' });
    }
  });

  it('rejects invalid keys with ERR_INVALID_CONFIG before touching any path', async () => {
    const dir = await tempDir();
    const store = new FileStateStore(dir);
    for (const attempt of [
      store.get('../outside'),
      store.get('a//b'),
      store.list('/etc'),
      store.get('.hidden'),
      store.transaction(async (tx) => {
        tx.put('ok', 1);
        tx.put('a/../../x', 1);
      }),
    ]) {
      expect((await rejection(attempt)).code).toBe(ErrorCode.INVALID_CONFIG);
    }
    expect(await store.get('ok')).toBeUndefined();
  });

  it('lists only records, not temporary or foreign files', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'n'));
    await writeFile(join(dir, 'n', 'a.json'), '1');
    await writeFile(join(dir, 'n', '.a.json.0123abcd.tmp'), '{"half');
    await writeFile(join(dir, 'n', 'notes.txt'), 'hello');
    await writeFile(join(dir, 'n', 'bad name.json'), '2');
    expect(await new FileStateStore(dir).list('n')).toEqual([{ key: 'n/a', value: 1 }]);
  });

  it('throws ERR_LOCK_TIMEOUT when the lock stays held', async () => {
    const dir = await tempDir();
    const held = await new FileLock(dir).acquire();
    try {
      const error = await rejection(new FileStateStore(dir, { lockTimeoutMs: 100 }).transaction(async () => 1));
      expect(error.code).toBe(ErrorCode.LOCK_TIMEOUT);
      expect(error.context).toMatchObject({ lockPath: join(dir, 'lock'), holderPid: process.pid });
    } finally {
      await held.release();
    }
  });

  it('loses no update among 50 concurrent transactions in one process', async () => {
    const dir = await tempDir();
    const stores = [new FileStateStore(dir), new FileStateStore(dir)];
    await Promise.all(Array.from({ length: 50 }, (_, i) => increment(stores[i % 2] as FileStateStore)));
    expect(await stores[0]?.get('counter/value')).toBe(50);
  });

  it.each([2, 4])('loses no update among %i processes running 100 transactions each', { timeout: 120_000 }, async (n) => {
    requireBuilt('store/file-store', 'store/file-lock');
    const dir = await tempDir();
    await countInChildren(dir, n, 100);
    expect(await new FileStateStore(dir).get('counter/value')).toBe(n * 100);
    expect(existsSync(join(dir, 'lock'))).toBe(false);
  });
});
