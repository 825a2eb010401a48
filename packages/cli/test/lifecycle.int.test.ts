import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { integrationAvailable } from '@netmode/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBE, assertBuilt, type Result, eventually } from './support/cli.js';
import { ADDR, createWorld, type World } from './support/world.js';

const root = integrationAvailable();
const node = process.execPath;
const SUBNET = '10.231.77.0/24';

interface PsEntry {
  name: string;
  status: string;
  pid: number | null;
  addresses: string[];
  ports: { hostPort?: number; containerPort: number }[];
  stoppedAt: string | null;
}

// stop releases a container's endpoint (address and published ports) and
// start takes them again, as Docker; run --rm leaves nothing. One world per
// firewall backend, the checks one after the other in it. Within 40 s in
// all: every netmode command is a process of its own, about 0.5 s each.
describe.skipIf(!root).each(['nftables', 'iptables'])('container life cycle, firewall %s (the built binary)', (firewall) => {
  let world: World;
  const cli = (args: readonly string[]) => world.cli(args);
  const ok = (result: Result, what: string) => expect(result.code, `${what}: ${result.stderr}`).toBe(0);
  const ps = async (): Promise<PsEntry[]> => {
    const result = await cli(['ps', '--json']);
    ok(result, 'ps');
    return JSON.parse(result.stdout) as PsEntry[];
  };
  const entry = async (name: string) => (await ps()).find((c) => c.name === name);
  /** Waits until the probe server of `name` has said "ready" `times` times in its log (each start appends). */
  const serving = async (name: string, times = 1) => {
    const log = join(world.fixture.stateDir, 'cli', 'logs', `${name}.log`);
    const readies = async () => (await readFile(log, 'utf8').catch(() => '')).split('"ready"').length - 1;
    expect(await eventually(async () => (await readies()) >= times), `${name} serves`).toBe(true);
  };
  const reachedFromOutside = async (port: number) => {
    let seen = await world.fromOutside('tcp-ask', ADDR.host, String(port));
    for (let i = 0; i < 50 && !seen.ok; i += 1) seen = await world.fromOutside('tcp-ask', ADDR.host, String(port));
    return seen;
  };
  const hostLinks = async () => (await world.fixture.ip(world.fixture.hostNetns, '-o', 'link', 'show')).split('\n').filter(Boolean).length;

  beforeAll(async () => {
    assertBuilt();
    world = await createWorld(['--firewall', firewall]);
    ok(await cli(['network', 'create', 'lc', '--subnet', SUBNET]), 'network create');
  });
  afterAll(async () => {
    await world?.cleanup();
  });

  it('stop frees the address and the published port; start takes the port again, refused while another holds it', async () => {
    const server = ['--', node, PROBE, 'serve', '80'];
    ok(await cli(['run', '-d', '--name', 'web', '--net', 'lc', '-p', '8080:80', ...server]), 'run web');
    await serving('web');
    expect(await reachedFromOutside(8080)).toMatchObject({ ok: true, answer: ADDR.ext });
    const first = (await entry('web')) as PsEntry;
    const address = (first.addresses[0] as string).split('/')[0] as string;

    expect(await cli(['stop', '-t', '1', 'web'])).toMatchObject({ code: 0, stdout: 'web\n' });
    expect(await entry('web')).toMatchObject({ status: 'exited', addresses: [], ports: [], stoppedAt: expect.any(String) });
    expect(await world.sandboxes()).toEqual([]);

    if (firewall === 'nftables') {
      // Only a running container can be joined (no firewall in it: once is enough).
      const joined = await cli(['run', '--net', 'container:web', '--', 'true']);
      expect(joined.code).toBe(125);
      expect(joined.stderr).toMatch(/^ERR_CONTAINER_NOT_RUNNING: cannot join container web .*not running\n {2}hint: .*netmode start/);
    }

    // Its address and port are another's to take now.
    ok(await cli(['run', '-d', '--name', 'taker', '--net', 'lc', '--ip', address, '-p', '8080:80', '--', 'sleep', '100']), 'run taker');
    expect((await entry('taker'))?.addresses).toEqual([`${address}/24`]);

    const refused = await cli(['start', 'web']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^ERR_PORT_ALLOCATED: /);
    expect(await entry('web')).toMatchObject({ status: 'exited', addresses: [], ports: [] });
    expect(await world.sandboxes()).toHaveLength(1);

    ok(await cli(['rm', '-f', 'taker']), 'rm taker');
    expect(await cli(['start', 'web'])).toMatchObject({ code: 0, stdout: 'web\n' });
    await serving('web', 2);
    const started = (await entry('web')) as PsEntry;
    expect(started).toMatchObject({ status: 'running', stoppedAt: null, ports: [{ hostPort: 8080, containerPort: 80 }] });
    expect(started.pid).not.toBe(first.pid);
    expect(await reachedFromOutside(8080)).toMatchObject({ ok: true, answer: ADDR.ext });

    if (firewall === 'nftables') {
      // stop and start again: the same code as above, once is enough.
      expect(await cli(['restart', '-t', '1', 'web'])).toMatchObject({ code: 0, stdout: 'web\n' });
      const restarted = (await entry('web')) as PsEntry;
      expect(restarted).toMatchObject({ status: 'running', ports: [{ hostPort: 8080, containerPort: 80 }] });
      expect(restarted.pid).not.toBe(started.pid);
    }
    ok(await cli(['rm', '-f', 'web']), 'rm web');
  });

  // The firewall's part (the port) is the same as stop's above: once is
  // enough (defined for nftables only, so no run counts a skipped test).
  if (firewall === 'nftables')
    it('run --rm leaves nothing: no record, log, name files, sandbox or veth, in the foreground and when stopped', async () => {
      const links = await hostLinks();
      const foreground = await cli(['run', '--rm', '--name', 'fg', '--net', 'lc', '--', 'true']);
      expect(foreground.code, foreground.stderr).toBe(0);

      ok(await cli(['run', '-d', '--rm', '--name', 'tmp', '--net', 'lc', '-p', '8081:80', '--', 'sleep', '100']), 'run tmp');
      const shown = await cli(['inspect', 'tmp', '--json']);
      ok(shown, 'inspect tmp');
      const { sandbox } = JSON.parse(shown.stdout) as { sandbox: { files: { directory: string } } };
      expect(existsSync(sandbox.files.directory)).toBe(true);
      expect(await hostLinks()).toBe(links + 1);
      expect(await cli(['stop', '-t', '1', 'tmp'])).toMatchObject({ code: 0, stdout: 'tmp\n' });

      expect(await ps()).toEqual([]);
      expect(await world.sandboxes()).toEqual([]);
      expect(existsSync(sandbox.files.directory)).toBe(false);
      for (const file of ['containers/tmp.json', 'logs/tmp.log', 'containers/fg.json']) {
        expect(existsSync(join(world.fixture.stateDir, 'cli', file)), file).toBe(false);
      }
      // The host side of its veth goes with its namespace, within about 0.1 s.
      expect(await eventually(async () => (await hostLinks()) === links)).toBe(true);
      // Its port is free again.
      ok(await cli(['run', '--rm', '--net', 'lc', '-p', '8081:80', '--', 'true']), 'publish 8081 again');
    });
});
