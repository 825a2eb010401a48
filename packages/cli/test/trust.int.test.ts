import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { integrationAvailable } from '@netmode/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, type Result } from './support/cli.js';
import { createWorld, startTime, type World } from './support/world.js';

// The CLI beside its own maintenance and its own crashes: nothing it starts
// runs unrecorded, gc never prunes a container being started, and a damaged
// record hides nothing and deletes nothing it should not.

interface PsEntry {
  name: string;
  status: string;
  pid: number | null;
  addresses: string[];
}

describe.skipIf(!integrationAvailable())('the CLI beside maintenance, crashes and damage', () => {
  let world: World;
  const ps = async (): Promise<PsEntry[]> => {
    const result = await world.cli(['ps', '--json']);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as PsEntry[];
  };
  const ok = (result: Result, what: string) => expect(result.code, `${what}: ${result.stderr}`).toBe(0);
  const record = (name: string) => join(world.fixture.stateDir, 'cli', 'containers', `${name}.json`);

  beforeAll(async () => {
    assertBuilt();
    world = await createWorld();
  });
  afterAll(async () => {
    await world?.cleanup();
  });

  it('gc run again and again beside run -d never prunes a container being started', async () => {
    let running = true;
    const gcs: Result[] = [];
    const loop = (async () => {
      while (running) gcs.push(await world.cli(['gc']));
    })();
    const names = Array.from({ length: 10 }, (_, i) => `g${i}`);
    try {
      for (const name of names) ok(await world.cli(['run', '-d', '--name', name, '--', 'sleep', '600']), `run ${name}`);
    } finally {
      running = false;
      await loop;
    }
    expect(gcs.length).toBeGreaterThan(0);
    for (const result of gcs) expect(result.code, result.stderr).toBe(0);
    const listed = await ps();
    for (const name of names) {
      expect(
        listed.find((c) => c.name === name),
        name,
      ).toMatchObject({ status: 'running', addresses: [expect.any(String)] });
    }
    for (const name of names) ok(await world.cli(['rm', '-f', name]), `rm ${name}`);
  }, 180_000);

  it('a run -d killed between starting its process and recording it leaves a process that ps, gc and rm still find', async () => {
    const killed = await world.cli(['run', '-d', '--name', 'lost', '--', 'sleep', '600'], {
      env: { NETMODE_CRASH_POINT: 'after-process-start' },
    });
    expect(killed.signal).toBe('SIGKILL');
    const [entry] = (await ps()).filter((c) => c.name === 'lost');
    expect(entry).toMatchObject({ status: 'running', pid: expect.any(Number) });
    const pid = entry?.pid as number;
    expect(existsSync(`/proc/${pid}`)).toBe(true);

    // gc keeps it, and records the process it found.
    ok(await world.cli(['gc']), 'gc');
    expect(JSON.parse(await readFile(record('lost'), 'utf8'))).toMatchObject({ process: { pid } });
    ok(await world.cli(['rm', '-f', 'lost']), 'rm');
    // Gone, or a zombie that nobody here reaps: either way it runs no more.
    expect(await startTime(pid)).toBeUndefined();
    expect(await world.sandboxes()).toEqual([]);
  });

  it('rm -f of a container others joined, then gc: the joiners keep their network', async () => {
    ok(await world.cli(['run', '-d', '--name', 's1', '--', 'sleep', '600']), 'run s1');
    ok(await world.cli(['run', '-d', '--name', 'j1', '--net', 'container:s1', '--', 'sleep', '600']), 'run j1');
    const address = (await ps()).find((c) => c.name === 's1')?.addresses[0] as string;
    ok(await world.cli(['rm', '-f', 's1']), 'rm s1');
    ok(await world.cli(['gc']), 'gc');
    const inside = await world.cli(['exec', 'j1', '--', 'ip', '-o', '-4', 'address', 'show', 'dev', 'eth0']);
    ok(inside, 'exec j1');
    expect(inside.stdout).toContain(address);
    ok(await world.cli(['rm', '-f', 'j1']), 'rm j1');
    expect(await world.sandboxes()).toEqual([]);
  });

  it('a damaged container record is named by ps and rm, and hides nothing else', async () => {
    ok(await world.cli(['run', '-d', '--name', 'fine', '--', 'sleep', '600']), 'run fine');
    await writeFile(record('bad'), '{}');
    const listed = await world.cli(['ps', '--json']);
    ok(listed, 'ps');
    expect((JSON.parse(listed.stdout) as PsEntry[]).map((c) => c.name)).toEqual(['fine']);
    expect(listed.stderr).toContain(record('bad'));
    const removed = await world.cli(['rm', '-f', 'bad']);
    expect(removed.code).toBe(2);
    expect(removed.stderr).toMatch(/^ERR_STATE_CORRUPT: .*bad\.json/m);
    ok(await world.cli(['rm', '-f', 'fine']), 'rm fine');
    await rm(record('bad'));
  });

  it('rm deletes only the output file it derives, never a path a record names', async () => {
    const victim = join(world.fixture.stateDir, 'victim.txt');
    await writeFile(victim, 'keep me');
    ok(await world.cli(['run', '-d', '--name', 'logged', '--', 'sleep', '600']), 'run');
    const text = JSON.parse(await readFile(record('logged'), 'utf8')) as Record<string, unknown>;
    await writeFile(record('logged'), JSON.stringify({ ...text, log: victim }));
    ok(await world.cli(['rm', '-f', 'logged']), 'rm');
    expect(await readFile(victim, 'utf8')).toBe('keep me');
    expect(existsSync(join(world.fixture.stateDir, 'cli', 'logs', 'logged.log'))).toBe(false);
  });

  it('shows a container whose namespace is gone as broken, and exec into it says so', async () => {
    ok(await world.cli(['run', '-d', '--name', 'cut', '--', 'sleep', '600']), 'run');
    const before = await world.sandboxes();
    await world.fixture.runner.run({ command: 'ip', args: ['netns', 'delete', before[0] as string] });
    expect((await ps()).find((c) => c.name === 'cut')?.status).toBe('broken');
    const exec = await world.cli(['exec', 'cut', '--', 'true']);
    expect(exec.code).toBe(2);
    expect(exec.stderr).toMatch(/^ERR_CONTAINER_BROKEN: the network namespace of container cut is gone/m);
    ok(await world.cli(['rm', '-f', 'cut']), 'rm');
  });

  it('names a host port asked for twice as such', async () => {
    const result = await world.cli(['run', '-p', '9001:80', '-p', '9001:81', '--', 'true']);
    expect(result.code).toBe(125);
    expect(result.stderr).toMatch(/^ERR_PORT_ALLOCATED: .*9001\/tcp is asked for twice in one request \(ports\[0\] and ports\[1\]\)/m);
  });
});
