import { integrationAvailable } from '@netmode/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROBE, assertBuilt, netmode } from './support/cli.js';
import { createWorld, type World } from './support/world.js';

const root = integrationAvailable();
const sleeper = ['--', process.execPath, PROBE, 'sleep'];
// A command that ends at once: should a row be accepted after all, the test
// fails on the exit status instead of waiting for a sleeper.
const quick = ['--', process.execPath, '-e', ''];
let names = 0;
/** `run` with a name no other row uses, so one accepted row cannot change another's outcome. */
const run = (...args: string[]): string[] => ['run', '--name', `c${(names += 1)}`, ...args, ...quick];

/**
 * Each row: what is wrong, the arguments after the global options, the
 * documented code on stderr, and the exit status (`run` fails with 125
 * before its command starts, as Docker's does; other commands with 2, or 1
 * for a malformed value).
 */
const CASES: [string, string[], string, number][] = [
  ['prefix length over 32', ['network', 'create', 'bad', '--subnet', '10.9.0.0/33'], 'ERR_INVALID_CONFIG', 2],
  ['subnet with host bits', ['network', 'create', 'bad', '--subnet', '10.9.0.1/24'], 'ERR_INVALID_CONFIG', 2],
  ['subnet overlapping another network', ['network', 'create', 'bad', '--subnet', '10.246.0.0/25'], 'ERR_SUBNET_OVERLAP', 2],
  ['gateway outside the subnet', ['network', 'create', 'bad', '--subnet', '10.9.0.0/24', '--gateway', '10.9.1.1'], 'ERR_INVALID_CONFIG', 2],
  ['multicast subnet', ['network', 'create', 'bad', '--subnet', '224.1.0.0/24'], 'ERR_INVALID_CONFIG', 2],
  ['link-local subnet', ['network', 'create', 'bad', '--subnet', '169.254.10.0/24'], 'ERR_INVALID_CONFIG', 2],
  ['subnet in 240.0.0.0/4', ['network', 'create', 'bad', '--subnet', '240.1.0.0/24'], 'ERR_INVALID_CONFIG', 2],
  ['MTU out of range', ['network', 'create', 'bad', '-o', 'com.docker.network.driver.mtu=70000'], 'ERR_INVALID_CONFIG', 2],
  ['bridge name over 15 characters', ['network', 'create', 'bad', '-o', 'bridgeName=a-very-long-bridge'], 'ERR_INVALID_CONFIG', 2],
  ['bridge name with a quote', ['network', 'create', 'bad', '-o', 'bridgeName=br"0'], 'ERR_INVALID_CONFIG', 2],
  ['network name with a space', ['network', 'create', 'my net'], 'ERR_INVALID_CONFIG', 2],
  ['unknown driver', ['network', 'create', 'bad', '--driver', 'overlay'], 'ERR_DRIVER_NOT_FOUND', 2],
  ['removing a network in use', ['network', 'rm', 'net1'], 'ERR_NETWORK_IN_USE', 2],
  ['misspelt mode', run('--net', 'brigde'), 'ERR_NETWORK_NOT_FOUND', 125],
  ['container: of a missing container', run('--net', 'container:ghost'), 'ERR_ENDPOINT_NOT_FOUND', 125],
  ['container: of yourself', ['run', '--name', 'self', '--net', 'container:self', ...quick], 'ERR_INVALID_CONFIG', 125],
  ['container name with a shell character', ['run', '--name', 'c;rm', '--net', 'net1', ...quick], 'ERR_INVALID_CONFIG', 125],
  ['container name taken', ['run', '--name', 'busy', '--net', 'net1', ...quick], 'ERR_CONTAINER_EXISTS', 125],
  ['host port over 65535', run('--net', 'net1', '-p', '70000:80'), 'ERR_USAGE', 125],
  ['unknown protocol', run('--net', 'net1', '-p', '9000:80/sctp'), 'ERR_USAGE', 125],
  ['a host port another container holds', run('--net', 'net1', '-p', '8080:80'), 'ERR_PORT_ALLOCATED', 125],
  ['the same host port twice', run('--net', 'net1', '-p', '9001:80', '-p', '9001:81'), 'ERR_PORT_ALLOCATED', 125],
  ["a host address that is not the host's", run('--net', 'net1', '-p', '192.0.2.7:9005:80'), 'ERR_INVALID_CONFIG', 125],
  ['static address outside the subnet', run('--net', 'net1', '--ip', '10.9.9.9'), 'ERR_INVALID_CONFIG', 125],
  ['static address in use', run('--net', 'net1', '--ip', '10.246.0.10'), 'ERR_ADDRESS_IN_USE', 125],
  ['static address is the gateway', run('--net', 'net1', '--ip', '10.246.0.1'), 'ERR_INVALID_CONFIG', 125],
  ['static address in host mode', run('--net', 'host', '--ip', '10.246.0.61'), 'ERR_INVALID_CONFIG', 125],
  ['static address in none mode', run('--net', 'none', '--ip', '10.246.0.60'), 'ERR_INVALID_CONFIG', 125],
  ['multicast MAC', run('--net', 'net1', '--mac-address', '01:00:5e:00:00:01'), 'ERR_INVALID_CONFIG', 125],
  ['malformed MAC', run('--net', 'net1', '--mac-address', '02:42:ac:11:00'), 'ERR_INVALID_CONFIG', 125],
];

describe.skipIf(!root)('bad input to the netmode binary is refused with its code, and changes nothing', () => {
  let world: World;

  beforeAll(async () => {
    assertBuilt();
    world = await createWorld();
    const create = await world.cli(['network', 'create', 'net1', '--subnet', '10.246.0.0/24']);
    expect(create.code, create.stderr).toBe(0);
    const busy = await world.cli(['run', '-d', '--name', 'busy', '--net', 'net1', '--ip', '10.246.0.10', '-p', '8080:80', ...sleeper]);
    expect(busy.code, busy.stderr).toBe(0);
  });
  afterAll(async () => {
    await world?.cleanup();
  });

  it.each(CASES)('%s', async (_what, args, code, status) => {
    const before = { host: await world.fixture.snapshot(), state: await world.fixture.stateFiles() };
    const result = await world.cli(args);
    expect(result.code, result.stderr).toBe(status);
    expect(result.stderr).toContain(code);
    // The message says what to fix: more than the code alone.
    expect(result.stderr.replace(code, '').trim().length).toBeGreaterThan(15);
    expect({ host: await world.fixture.snapshot(), state: await world.fixture.stateFiles() }).toEqual(before);
  });

  it('writes nothing on a fresh state directory: not network ls or inspect, not a refused network create', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'netmode-test-fresh-'));
    try {
      const globals = ['--host-netns', `${world.fixture.prefix}host`, '--state-dir', stateDir, '--name-prefix', world.fixture.prefix];
      for (const args of [
        ['network', 'ls'],
        ['network', 'inspect', 'bridge'],
      ]) {
        const result = await netmode([...globals, ...args]);
        expect(result.code, result.stderr).toBe(0);
      }
      const refused = await netmode([...globals, 'network', 'create', '--subnet', '10.231.41.0/24', '--gateway', '10.231.42.1', 'x']);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/^ERR_INVALID_CONFIG: subnets\[0\]\.gateway: 10.231.42.1 is outside/m);
      expect(await readdir(stateDir)).toEqual([]);
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
