// netmode first: it loads reflect-metadata, which tsyringe needs before it loads.
import {
  createNetMode,
  endpointOwner,
  ErrorCode,
  FileStateStore,
  NETWORK_DRIVER,
  type NetModeError,
  type NetworkDriver,
} from '../../src/index.js';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { integrationAvailable } from '../../src/testing/netns-fixture.js';
import { RecordingRunner } from '../../src/testing/recording-runner.js';

let base: string | undefined;
let disk = '';
let mounted = false;
let fillers = 0;

// Needs root to mount a tmpfs: a 64 KiB one is a full disk that fills in
// milliseconds and never touches the machine's real one.
describe.skipIf(!integrationAvailable())('a full disk under the state directory', () => {
  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'netmode-test-'));
    disk = join(base, 'disk');
    await mkdir(disk);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', disk]);
    mounted = true;
  });
  // Each test starts with an empty disk but for the state directories of the others.
  afterEach(async () => {
    if (mounted) await freeAll();
  });
  afterAll(async () => {
    if (mounted) execFileSync('umount', [disk]);
    if (base) await rm(base, { recursive: true, force: true });
  });

  /**
   * Fills the disk with one-byte files, each taking one page, then removes
   * `leave` of them: exactly that many more small files fit.
   */
  async function fill(leave = 0): Promise<void> {
    for (;;) {
      const path = join(disk, `filler-${(fillers += 1)}`);
      try {
        await writeFile(path, 'x');
      } catch (error) {
        // The failed write created the file empty.
        await rm(path, { force: true });
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
        break;
      }
    }
    for (let i = 0; i < leave; i += 1) await rm(join(disk, `filler-${fillers - 1 - i}`));
  }

  async function freeAll(): Promise<void> {
    for (const name of await readdir(disk)) if (name.startsWith('filler-')) await rm(join(disk, name));
  }

  /** Every file under `dir` but the directories, by path relative to it. */
  async function filesUnder(dir: string): Promise<string[]> {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries
      .filter((e) => !e.isDirectory())
      .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
      .sort();
  }

  async function rejection(promise: Promise<unknown>): Promise<NetModeError> {
    return (await promise.then(
      () => expect.fail('expected a rejection'),
      (e: unknown) => e,
    )) as NetModeError;
  }

  // The commit below writes three records and a journal: with 0 to 3 pages
  // free it fails at each of its writes in turn.
  it.each([0, 1, 2, 3])(
    'fails a commit with %i pages free with ERR_NO_SPACE, and leaves the previous state whole, no journal and no temporary file',
    async (free) => {
      const stateDir = join(disk, `state-${free}`);
      const store = new FileStateStore(stateDir);
      await store.transaction(async (tx) => {
        tx.put('a/one', 1);
        tx.put('a/two', 2);
      });
      const before = await filesUnder(stateDir);

      const error = await rejection(
        store.transaction(async (tx) => {
          // Under the lock, whose file already has its page.
          await fill(free);
          tx.put('a/one', 10);
          tx.put('a/three', 3);
          tx.put('b/new', 4);
          tx.delete('a/two');
        }),
      );
      expect(error.code).toBe(ErrorCode.NO_SPACE);
      expect(error.message).toContain(stateDir);
      expect(await filesUnder(stateDir)).toEqual(before);
      expect(await store.list('a')).toEqual([
        { key: 'a/one', value: 1 },
        { key: 'a/two', value: 2 },
      ]);

      await freeAll();
      // Nothing of the failed commit comes back later, and the store works.
      await store.transaction(async (tx) => tx.put('a/four', 4));
      expect(await store.list('a')).toEqual([
        { key: 'a/four', value: 4 },
        { key: 'a/one', value: 1 },
        { key: 'a/two', value: 2 },
      ]);
      expect(await store.get('b/new')).toBeUndefined();
    },
  );

  it('refuses a transaction that cannot even take the lock with ERR_NO_SPACE, leaving no temporary file', async () => {
    const stateDir = join(disk, 'state-lock');
    const store = new FileStateStore(stateDir);
    await store.transaction(async (tx) => tx.put('a/one', 1));
    await fill();
    const error = await rejection(store.transaction(async (tx) => tx.put('a/one', 2)));
    expect(error.code).toBe(ErrorCode.NO_SPACE);
    expect(await filesUnder(stateDir)).toEqual(['a/one.json']);
    expect(await store.get('a/one')).toBe(1);
    await freeAll();
    await store.transaction(async (tx) => tx.put('a/one', 2));
    expect(await store.get('a/one')).toBe(2);
  });

  it("gives ERR_NO_SPACE, not ERR_DRIVER_FAILED, when a driver's IPAM transaction finds the disk full", async () => {
    // A driver that fills the disk just before its IPAM call, after the
    // manager recorded the pending endpoint.
    const driver: NetworkDriver = {
      name: 'full',
      predefinedNetworks: [{ name: 'full0', driver: 'full' }],
      validate: () => undefined,
      attach: async (request, ctx) => {
        await fill();
        await ctx.ipam.allocateSubnet(endpointOwner(request.containerId), { subnet: '10.99.0.0/24' });
        throw new Error('not reached');
      },
      detach: async () => undefined,
    };
    const netmode = createNetMode({
      stateDir: join(disk, 'state-manager'),
      drivers: [(c) => c.register(NETWORK_DRIVER, { useValue: driver })],
      runner: new RecordingRunner(),
    });
    const error = await rejection(netmode.connect('web', 'full0'));
    expect(error.code).toBe(ErrorCode.NO_SPACE);
    expect(error.context).toMatchObject({ containerId: 'web', stateDir: join(disk, 'state-manager') });
  });
});
