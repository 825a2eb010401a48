import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { integrationAvailable } from '@netmode/core/testing';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, netmode, type Result } from './support/cli.js';
import { THROUGH_DAEMON } from './support/daemon.js';
import { createWorld, type World } from './support/world.js';

const root = integrationAvailable();

// The daemon settings are kept in the state directory: a later command
// without flags uses them, a different value is applied or refused, never
// ignored, and read-only commands create nothing. Every command here embeds
// the SDK (the world's settings, never -H), so that the settings are this
// file's to change; through a daemon they are the daemon's (daemon.int.test.ts).
describe.skipIf(!root || THROUGH_DAEMON)('daemon settings kept in the state directory (the built binary)', () => {
  let world: World | undefined;
  beforeAll(() => assertBuilt());
  afterEach(async () => {
    await world?.cleanup();
    world = undefined;
  });
  const cli = (w: World, args: readonly string[]): Promise<Result> => netmode([...w.settings, ...args]);
  const host = (w: World, command: string, ...args: string[]) =>
    w.fixture.runner.run({ command, args, netns: w.fixture.hostNetns }).then((r) => r.stdout);
  const ipForward = (w: World) => host(w, 'sysctl', '-n', 'net.ipv4.ip_forward').then((s) => s.trim());
  const mtuOf = async (w: World, name: string) => {
    const link = await cli(w, ['exec', name, '--', 'ip', '-o', 'link', 'show', 'eth0']);
    return /mtu (\d+)/.exec(link.stdout)?.[1];
  };
  const refused = (result: Result, status: number, ...words: string[]) => {
    expect(result.code, result.stderr).toBe(status);
    expect(result.stderr).toMatch(/^ERR_SETTINGS_CONFLICT: /);
    for (const word of words) expect(result.stderr).toContain(word);
  };

  it('nftables, then iptables: network ls creates nothing; settings are kept, applied when nothing uses them, refused otherwise', async () => {
    world = await createWorld();
    const w = world;
    const forward = await ipForward(w);
    const before = await w.fixture.snapshot();

    // A read-only command on a new state directory: no bridge, no table, no state, ip_forward as it was.
    const ls = await cli(w, ['network', 'ls']);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toMatch(/ bridge +bridge +172\.17\.0\.0\/16 /);
    expect(await w.fixture.snapshot()).toEqual(before);
    expect(await w.fixture.stateFiles()).toEqual({});
    expect(await ipForward(w)).toBe(forward);

    // The first command that creates something keeps its settings; the next one, without flags, uses them.
    const first = await cli(w, ['--mtu', '1400', '--ip-forward=false', 'run', '-d', '--name', 'a', '--', 'sleep', '100']);
    expect(first.code, first.stderr).toBe(0);
    expect(Object.keys(await w.fixture.stateFiles())).toContain(`${w.fixture.stateDir}/settings/daemon.json`);
    expect((await cli(w, ['run', '-d', '--name', 'b', '--', 'sleep', '100'])).code).toBe(0);
    expect(await mtuOf(w, 'b')).toBe('1400');
    expect(await ipForward(w)).toBe(forward);

    // While containers use the default network its settings cannot change, and nothing is touched.
    const kernel = await w.fixture.snapshot();
    const state = await w.fixture.stateFiles();
    refused(
      await cli(w, ['--mtu', '1300', 'run', '-d', '--name', 'c', '--', 'sleep', '100']),
      125,
      '--mtu: 1400 in force, 1300 given',
      'a, b',
    );
    refused(await cli(w, ['--firewall', 'iptables', 'network', 'create', 'n1']), 2, '--firewall: nftables in force, iptables given');
    refused(await cli(w, ['--mtu', '1300', 'network', 'ls']), 2, 'network ls only reads');
    // netmode daemon follows the same rule when it starts: refused before it listens.
    const socket = `unix://${join(tmpdir(), `${w.fixture.prefix}-settings.sock`)}`;
    refused(await netmode([...w.settings, '--mtu', '1300', 'daemon', '-H', socket], { timeoutMs: 15_000 }), 2, '--mtu: 1400 in force');
    expect(await w.fixture.snapshot()).toEqual(kernel);
    expect(await w.fixture.stateFiles()).toEqual(state);

    // Once nothing uses it, a change is applied: the default network is made again with the new value.
    expect((await cli(w, ['rm', '-f', 'a', 'b'])).code).toBe(0);
    const applied = await cli(w, ['--mtu', '1300', 'run', '-d', '--name', 'c', '--', 'sleep', '100']);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stderr).toContain('--mtu: 1400 in force, 1300 given: applied');
    expect(await mtuOf(w, 'c')).toBe('1300');

    // The firewall cannot change while anything exists; once nothing does, it can, and the old backend's rules go.
    refused(await cli(w, ['--firewall', 'iptables', 'run', '-d', '--name', 'd', '--', 'sleep', '100']), 125, 'containers c');
    expect((await cli(w, ['rm', '-f', 'c'])).code).toBe(0);
    const switched = await cli(w, ['--firewall', 'iptables', 'run', '-d', '--name', 'd', '--', 'sleep', '100']);
    expect(switched.code, switched.stderr).toBe(0);
    expect(await host(w, 'nft', 'list', 'tables')).not.toContain('netmode');
    expect(await host(w, 'iptables-save')).toContain('NETMODE');
    expect(await ipForward(w)).toBe(forward);
    // iptables in force now: a change is refused there too.
    refused(await cli(w, ['--icc=false', 'run', '-d', '--name', 'e', '--', 'sleep', '100']), 125, '--icc: true in force, false given', 'd');
  });

  it('iptables: network ls creates nothing; -b is remembered; --bip while it is in use is refused', async () => {
    world = await createWorld(['--firewall', 'iptables']);
    const w = world;
    await w.fixture.ip(w.fixture.hostNetns, 'link', 'add', 'ext9', 'up', 'type', 'bridge');
    await w.fixture.ip(w.fixture.hostNetns, 'address', 'add', '10.251.0.1/24', 'dev', 'ext9');
    const before = await w.fixture.snapshot();
    const rules = await host(w, 'iptables-save');
    expect((await cli(w, ['-b', 'ext9', 'network', 'inspect', 'bridge'])).code).toBe(0);
    expect(await w.fixture.snapshot()).toEqual(before);
    expect(await host(w, 'iptables-save')).toBe(rules);
    expect(await w.fixture.stateFiles()).toEqual({});

    expect((await cli(w, ['-b', 'ext9', 'run', '-d', '--name', 'x', '--', 'sleep', '100'])).code).toBe(0);
    expect((await cli(w, ['run', '-d', '--name', 'y', '--', 'sleep', '100'])).code).toBe(0);
    const inspect = JSON.parse((await cli(w, ['inspect', 'y', '--json'])).stdout) as { addresses: string[] };
    expect(inspect.addresses[0]).toMatch(/^10\.251\.0\.\d+\/24$/);
    refused(
      await cli(w, ['--bip', '10.250.0.1/24', 'run', '-d', '--name', 'z', '--', 'sleep', '100']),
      125,
      '--bip: none in force, 10.250.0.1/24 given',
    );
  });
});
