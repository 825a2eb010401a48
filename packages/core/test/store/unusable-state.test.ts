// netmode first: it loads reflect-metadata, which tsyringe needs before it loads.
import { createNetMode, ErrorCode, FileStateStore, type NetModeError } from '../../src/index.js';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RecordingRunner } from '../../src/testing/recording-runner.js';
import { newLog, registerFakeDriver } from '../support/fake-driver.js';

let dirs: string[] = [];

afterEach(async () => {
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

/** A netmode instance on `stateDir` with the fake driver: nothing here reaches the kernel. */
function manager(stateDir: string) {
  const log = newLog();
  return createNetMode({ stateDir, drivers: [(c) => registerFakeDriver(c, log)], runner: new RecordingRunner() });
}

/** Each: what stateDir is, and how to make it in a fresh temporary directory. */
const NOT_A_DIRECTORY: [string, (base: string) => Promise<string>][] = [
  [
    'a regular file',
    async (base) => {
      await writeFile(join(base, 'file'), 'mine');
      return join(base, 'file');
    },
  ],
  ['/dev/null', async () => '/dev/null'],
  [
    'a path under a regular file',
    async (base) => {
      await writeFile(join(base, 'file'), 'mine');
      return join(base, 'file', 'state');
    },
  ],
];

describe('a state directory that cannot hold netmode state', () => {
  it.each(NOT_A_DIRECTORY)('at %s gives ERR_STATE_DIR_UNUSABLE naming it, from the store and the manager', async (_what, make) => {
    const base = await tempDir();
    const stateDir = await make(base);
    const store = new FileStateStore(stateDir);
    for (const attempt of [
      () => store.transaction(async (tx) => tx.put('networks/x', 1)),
      () => store.get('networks/x'),
      () => store.list('networks'),
      () => manager(stateDir).listNetworks(),
    ]) {
      const error = await rejection(attempt());
      expect(error.code).toBe(ErrorCode.STATE_DIR_UNUSABLE);
      expect(error.message).toContain(stateDir);
      expect(error.context).toMatchObject({ stateDir });
    }
    if (existsSync(join(base, 'file'))) expect(readFileSync(join(base, 'file'), 'utf8')).toBe('mine');
  });

  // As root, /proc refuses new files with ENOENT; others get ERR_PERMISSION first.
  it.skipIf(process.getuid?.() !== 0)('at /proc gives ERR_STATE_DIR_UNUSABLE naming it', async () => {
    for (const attempt of [
      () => new FileStateStore('/proc').transaction(async (tx) => tx.put('networks/x', 1)),
      // Reads take no lock and find nothing there; the first change says why it cannot be made.
      () => manager('/proc').connect('c1', 'fake0'),
    ]) {
      const error = await rejection(attempt());
      expect(error.code).toBe(ErrorCode.STATE_DIR_UNUSABLE);
      expect(error.message).toContain('/proc');
    }
  });

  it('with a directory as its lock gives ERR_STATE_CORRUPT naming the lock, from the store and the manager', async () => {
    const stateDir = await tempDir();
    await mkdir(join(stateDir, 'lock'));
    for (const attempt of [
      () => new FileStateStore(stateDir, { lockTimeoutMs: 2000 }).transaction(async () => undefined),
      () => manager(stateDir).connect('c1', 'fake0'),
    ]) {
      const error = await rejection(attempt());
      expect(error.code).toBe(ErrorCode.STATE_CORRUPT);
      expect(error.context).toMatchObject({ path: join(stateDir, 'lock') });
    }
  });

  it('with a file where a directory of records belongs gives ERR_STATE_CORRUPT naming it', async () => {
    const stateDir = await tempDir();
    await writeFile(join(stateDir, 'networks'), 'in the way');
    const error = await rejection(new FileStateStore(stateDir).transaction(async (tx) => tx.put('networks/x', 1)));
    expect(error.code).toBe(ErrorCode.STATE_CORRUPT);
    expect(error.context).toMatchObject({ path: join(stateDir, 'networks') });
    expect(readFileSync(join(stateDir, 'networks'), 'utf8')).toBe('in the way');
  });

  it("passes a file system error of the transaction's own callback through untouched", async () => {
    // The caller's error, not the store's: no state directory to blame.
    const own = Object.assign(new Error('ENOENT: no such file, open /proc/4242/ns/net'), { code: 'ENOENT' });
    const stateDir = await tempDir();
    const error = await rejection(new FileStateStore(stateDir).transaction(async () => Promise.reject(own)));
    expect(error).toBe(own);
  });
});
