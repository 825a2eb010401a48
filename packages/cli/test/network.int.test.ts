import { integrationAvailable } from '@netmode/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBE, assertBuilt } from './support/cli.js';
import { createWorld, probeOf, type World } from './support/world.js';

const root = integrationAvailable();

interface NetworkJson {
  id: string;
  name: string;
  driver: string;
  predefined: boolean;
  internal: boolean;
  subnets: { subnet: string; gateway?: string; ipRange?: string }[];
  options: Record<string, unknown>;
  containers?: { name: string; addresses: string[] }[];
}

describe.skipIf(!root)('netmode network create, ls, inspect, rm (the built binary)', () => {
  let world: World;
  beforeAll(async () => {
    assertBuilt();
    world = await createWorld();
  });
  afterAll(async () => {
    await world?.cleanup();
  });

  it('lists the predefined networks', async () => {
    const result = await world.cli(['network', 'ls', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const networks = JSON.parse(result.stdout) as NetworkJson[];
    expect(networks.map((n) => [n.name, n.driver, n.predefined])).toEqual([
      ['bridge', 'bridge', true],
      ['container', 'container', true],
      ['host', 'host', true],
      ['none', 'none', true],
    ]);
    const table = (await world.cli(['network', 'ls'])).stdout.split('\n');
    expect(table[0]).toMatch(/^NETWORK ID +NAME +DRIVER +SUBNET +GATEWAY +FLAGS$/);
    expect(table[1]).toMatch(/^[0-9a-f]{12} +bridge +bridge +172\.17\.0\.0\/16 +172\.17\.0\.1 +predefined$/);
  });

  it('creates a network with a subnet, gateway, range and driver options, runs a container on it, and removes it', async () => {
    const create = await world.cli([
      'network',
      'create',
      'appnet',
      '--subnet',
      '10.244.0.0/24',
      '--gateway',
      '10.244.0.254',
      '--ip-range',
      '10.244.0.128/25',
      '-o',
      'com.docker.network.driver.mtu=1400',
      '-o',
      'bridgeName=appbr0',
    ]);
    expect(create).toMatchObject({ code: 0, stdout: 'appnet\n' });
    const listed = JSON.parse((await world.cli(['network', 'ls', '--json'])).stdout) as NetworkJson[];
    expect(listed.map((n) => n.name)).toContain('appnet');

    expect((await world.cli(['run', '-d', '--name', 'member', '--net', 'appnet', '--', process.execPath, PROBE, 'sleep'])).code).toBe(0);
    const inspected = JSON.parse((await world.cli(['network', 'inspect', 'appnet', '--json'])).stdout) as NetworkJson;
    expect(inspected).toMatchObject({
      name: 'appnet',
      driver: 'bridge',
      internal: false,
      subnets: [{ subnet: '10.244.0.0/24', gateway: '10.244.0.254', ipRange: '10.244.0.128/25' }],
      options: { bridge: 'appbr0', mtu: 1400 },
    });
    expect(inspected.containers?.map((c) => c.name)).toEqual(['member']);
    const address = inspected.containers?.[0]?.addresses[0] as string;
    expect(address).toMatch(/^10\.244\.0\.\d+\/24$/);
    // From --ip-range, and never the gateway.
    expect(Number(address.split('/')[0]?.split('.')[3])).toBeGreaterThanOrEqual(128);
    expect(address).not.toBe('10.244.0.254/24');
    const human = (await world.cli(['network', 'inspect', 'appnet'])).stdout;
    expect(human).toMatch(/^FIELD +VALUE\nname +appnet\n/);
    expect(human).toMatch(/containers +member 10\.244\.0\.\d+\/24/);
    const link = await world.cli(['exec', 'member', '--', 'ip', '-o', 'link', 'show', 'eth0']);
    expect(link.stdout).toContain('mtu 1400');
    const routes = probeOf(await world.cli(['exec', 'member', '--', process.execPath, PROBE, 'routes'])) as { routes?: string[] };
    expect(routes.routes).toContain('default via 10.244.0.254 dev eth0');

    const inUse = await world.cli(['network', 'rm', 'appnet']);
    expect(inUse.code).toBe(2);
    expect(inUse.stderr).toMatch(/^ERR_NETWORK_IN_USE: network appnet has endpoints: member\n {2}hint: /);
    expect((await world.cli(['rm', '-f', 'member'])).code).toBe(0);
    expect(await world.cli(['network', 'rm', 'appnet'])).toMatchObject({ code: 0, stdout: 'appnet\n' });
    expect(await world.fixture.ip(world.fixture.hostNetns, '-o', 'link', 'show')).not.toContain('appbr0');
  });

  it('refuses what it cannot do, with codes and hints', async () => {
    const missing = await world.cli(['network', 'inspect', 'ghost']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^ERR_NETWORK_NOT_FOUND: .*\n {2}hint: .*netmode network ls/);
    expect((await world.cli(['network', 'rm', 'ghost'])).stderr).toContain('ERR_NETWORK_NOT_FOUND');
    const predefined = await world.cli(['network', 'rm', 'bridge']);
    expect(predefined.code).toBe(2);
    expect(predefined.stderr).toContain('ERR_NETWORK_IN_USE: bridge is a predefined network');
    const badOption = await world.cli(['network', 'create', 'bad', '-o', 'colour=blue']);
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toMatch(/^ERR_INVALID_CONFIG: options\.colour: is not a bridge network option/);
    const hostDriver = await world.cli(['network', 'create', 'h2', '--driver', 'host']);
    expect(hostDriver.code).toBe(2);
    expect(hostDriver.stderr).toContain('ERR_UNSUPPORTED');
    const noSubnet = await world.cli(['network', 'create', 'g', '--gateway', '10.1.1.1']);
    expect(noSubnet.code).toBe(1);
    expect(noSubnet.stderr).toContain('--gateway and --ip-range need --subnet');
    expect((await world.cli(['network', 'create', 'dup'])).code).toBe(0);
    const dup = await world.cli(['network', 'create', 'dup']);
    expect(dup.code).toBe(2);
    expect(dup.stderr).toContain('ERR_NETWORK_EXISTS');
    expect((await world.cli(['network', 'rm', 'dup'])).code).toBe(0);
  });

  it('creates an internal network with no way out', async () => {
    expect((await world.cli(['network', 'create', 'inner', '--internal', '--subnet', '10.245.0.0/24'])).code).toBe(0);
    expect((await world.cli(['run', '-d', '--name', 'in1', '--net', 'inner', '--', process.execPath, PROBE, 'sleep'])).code).toBe(0);
    const routes = probeOf(await world.cli(['exec', 'in1', '--', process.execPath, PROBE, 'routes'])) as { routes?: string[] };
    expect(routes.routes?.some((r) => r.startsWith('default'))).toBe(false);
    const published = await world.cli(['run', '--net', 'inner', '-p', '80', '--', 'true']);
    expect(published.code).toBe(125);
    expect(published.stderr).toContain('ERR_INVALID_CONFIG');
    expect((await world.cli(['rm', '-f', 'in1'])).code).toBe(0);
    expect((await world.cli(['network', 'rm', 'inner'])).code).toBe(0);
  });
});
