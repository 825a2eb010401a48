import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, createNetMode, isNetModeError, type NetworkManager } from '../../src/index.js';
import { RecordingRunner } from '../../src/testing/recording-runner.js';
import { newLog, registerFakeDriver } from '../support/fake-driver.js';

// The state directory the release before state format 2 wrote (one endpoint
// per container under endpoints/CONTAINER), recorded from a real run of that
// release's CLI: `network create --subnet 10.77.0.0/24 front`, `run -d --name
// web --net front -p 8080:80`, `run -d --name side --net container:web`,
// `run -d --name plain` (the default bridge network).
const FORMAT_1 = fileURLToPath(new URL('../fixtures/state-format-1', import.meta.url));

async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

describe('state format', () => {
  const dirs: string[] = [];
  const stateDir = async (from?: string) => {
    const dir = await mkdtemp(join(tmpdir(), 'netmode-test-format-'));
    dirs.push(dir);
    if (from) await cp(from, dir, { recursive: true });
    return dir;
  };
  const open = (dir: string): NetworkManager =>
    createNetMode({ drivers: [(c) => registerFakeDriver(c, newLog())], runner: new RecordingRunner(), stateDir: dir });
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  it('reads a directory of format 1 and migrates it in place on first use', async () => {
    const dir = await stateDir(FORMAT_1);
    const netmode = open(dir);
    const web = await netmode.inspect('web');
    // The endpoint keeps its id (its kernel objects and leases are named after it).
    expect(web.endpoints).toHaveLength(1);
    expect(web.endpoints[0]).toMatchObject({
      id: 'web',
      network: 'front',
      addresses: ['10.77.0.2/24'],
      ports: [{ hostPort: 8080, containerPort: 80, count: 1, protocol: 'tcp' }],
      ownsNetns: true,
      gwPriority: 0,
      defaultRoute: true,
      aliases: [],
    });
    expect(web.joiners).toEqual(['side']);
    expect(web.defaultRoute).toMatchObject({ endpointId: 'web', network: 'front', gateway: '10.77.0.1', ifname: 'eth0' });
    // A joiner's owner, kept by format 1 only in the container driver's data, is now the record's.
    const side = await netmode.inspect('side');
    expect(side.joinedTo).toBe('web');
    expect(side.netns).toEqual(web.netns);
    expect((await netmode.list()).map((e) => `${e.containerId}/${e.network}`)).toEqual(['plain/bridge', 'side/container', 'web/front']);

    const after = await files(dir);
    expect(after).toContain('endpoints/web/front.json');
    expect(after).toContain('endpoints/side/container.json');
    expect(after).toContain('endpoints/plain/bridge.json');
    expect(after).not.toContain('endpoints/web.json');
    expect(JSON.parse(await readFile(join(dir, 'format.json'), 'utf8'))).toEqual({ version: 2 });
    // Everything else is as it was, byte for byte.
    for (const file of (await files(FORMAT_1)).filter((f) => !f.startsWith('endpoints/'))) {
      expect(await readFile(join(dir, file), 'utf8')).toBe(await readFile(join(FORMAT_1, file), 'utf8'));
    }
    // A second manager finds it migrated and reads the same.
    expect(await open(dir).inspect('web')).toEqual(web);
  });

  it('migrates before a connect, which then knows what the container already is', async () => {
    const dir = await stateDir(FORMAT_1);
    // side joined web (container:web) in format 1: a whole sandbox, which no network may join.
    const error = await open(dir)
      .connect('side', 'fake0')
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(isNetModeError(error, ErrorCode.INVALID_CONFIG)).toBe(true);
    expect((error as Error).message).toMatch(/container:web is a whole sandbox/);
    expect(await files(dir)).toContain('endpoints/side/container.json');
  });

  it('refuses a newer format than it knows, and changes nothing', async () => {
    const dir = await stateDir(FORMAT_1);
    await writeFile(join(dir, 'format.json'), JSON.stringify({ version: 3 }));
    const before = await files(dir);
    const netmode = open(dir);
    for (const attempt of [
      () => netmode.inspect('web'),
      () => netmode.list(),
      () => netmode.connect('new', 'fake0'),
      () => netmode.gc([]),
    ]) {
      const error = await attempt().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isNetModeError(error, ErrorCode.STATE_FORMAT_UNKNOWN)).toBe(true);
      expect((error as Error).message).toMatch(/format 3, written by a newer netmode; this release reads formats 1 to 2/);
    }
    expect(await files(dir)).toEqual(before);
  });

  it('writes nothing into a fresh directory on a read, and records format 2 with the first write', async () => {
    const dir = await stateDir();
    const netmode = open(dir);
    expect(await netmode.list()).toEqual([]);
    expect(await files(dir)).toEqual([]);
    await netmode.connect('web', 'fake0');
    expect(JSON.parse(await readFile(join(dir, 'format.json'), 'utf8'))).toEqual({ version: 2 });
    expect((await files(dir)).filter((f) => f.startsWith('endpoints/'))).toEqual(['endpoints/web/fake0.json']);
  });
});
