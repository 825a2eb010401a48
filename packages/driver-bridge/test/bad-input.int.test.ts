import { ErrorCode, createNetMode, isNetModeError, type ConnectOptions, type NetworkManager, type NetworkSpec } from '@netmode/core';
import { createNetnsFixture, integrationAvailable, type NetnsFixture } from '@netmode/core/testing';
import { registerContainerDriver } from '@netmode/driver-container';
import { registerHostDriver } from '@netmode/driver-host';
import { registerNoneDriver } from '@netmode/driver-none';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerBridgeDriver } from '../src/index.js';

type Attempt = (netmode: NetworkManager) => Promise<unknown>;

const net =
  (spec: Partial<NetworkSpec>): Attempt =>
  (m) =>
    m.createNetwork({ name: 'bad', driver: 'bridge', ...spec });
const run =
  (id: string, mode: string, options?: ConnectOptions): Attempt =>
  (m) =>
    m.connect(id, mode, options);
const port = (p: Record<string, unknown>): Attempt => run('p', 'net1', { ports: [p as never] });

/** Each row: what is wrong, the attempt, the documented code. */
const CASES: [string, Attempt, string][] = [
  ['prefix length over 32', net({ subnets: [{ subnet: '10.0.0.0/33' }] }), ErrorCode.INVALID_CONFIG],
  ['octet over 255', net({ subnets: [{ subnet: '10.0.1.300/24' }] }), ErrorCode.INVALID_CONFIG],
  ['host bits in a subnet', net({ subnets: [{ subnet: '10.0.0.1/24' }] }), ErrorCode.INVALID_CONFIG],
  ['not an address', net({ subnets: [{ subnet: 'banana' }] }), ErrorCode.INVALID_CONFIG],
  ['subnet with a newline', net({ subnets: [{ subnet: '10.9.0.0/24\n' }] }), ErrorCode.INVALID_CONFIG],
  ['subnet overlapping another network', net({ subnets: [{ subnet: '10.251.0.128/25' }] }), ErrorCode.SUBNET_OVERLAP],
  ["subnet clashing with the host's routes", net({ subnets: [{ subnet: '10.252.0.0/24' }] }), ErrorCode.SUBNET_OVERLAP],
  ['gateway outside the subnet', net({ subnets: [{ subnet: '10.9.0.0/24', gateway: '10.9.1.1' }] }), ErrorCode.INVALID_CONFIG],
  ['gateway is the network address', net({ subnets: [{ subnet: '10.9.0.0/24', gateway: '10.9.0.0' }] }), ErrorCode.INVALID_CONFIG],
  ['gateway is the broadcast address', net({ subnets: [{ subnet: '10.9.0.0/24', gateway: '10.9.0.255' }] }), ErrorCode.INVALID_CONFIG],
  ['ip range outside the subnet', net({ subnets: [{ subnet: '10.9.0.0/24', ipRange: '10.9.1.0/25' }] }), ErrorCode.INVALID_CONFIG],
  ['IPv6 subnet on a bridge', net({ subnets: [{ subnet: 'fd00:1::/64' }] }), ErrorCode.INVALID_CONFIG],
  ['multicast subnet', net({ subnets: [{ subnet: '224.1.0.0/24' }] }), ErrorCode.INVALID_CONFIG],
  ['subnet in 0.0.0.0/8', net({ subnets: [{ subnet: '0.1.0.0/16' }] }), ErrorCode.INVALID_CONFIG],
  ['subnet in 240.0.0.0/4 (limited broadcast included)', net({ subnets: [{ subnet: '255.255.255.0/24' }] }), ErrorCode.INVALID_CONFIG],
  ['link-local subnet', net({ subnets: [{ subnet: '169.254.10.0/24' }] }), ErrorCode.INVALID_CONFIG],
  ['loopback subnet', net({ subnets: [{ subnet: '127.10.0.0/16' }] }), ErrorCode.INVALID_CONFIG],
  ['two subnets', net({ subnets: [{ subnet: '10.9.0.0/24' }, { subnet: '10.9.1.0/24' }] }), ErrorCode.INVALID_CONFIG],
  ['network name with a space', (m) => m.createNetwork({ name: 'my net', driver: 'bridge' }), ErrorCode.INVALID_CONFIG],
  ['network name with a slash', (m) => m.createNetwork({ name: 'a/b', driver: 'bridge' }), ErrorCode.INVALID_CONFIG],
  ['network name with a newline', (m) => m.createNetwork({ name: 'n\nx', driver: 'bridge' }), ErrorCode.INVALID_CONFIG],
  ['network name taken', (m) => m.createNetwork({ name: 'net1', driver: 'bridge' }), ErrorCode.NETWORK_EXISTS],
  ['unknown driver', (m) => m.createNetwork({ name: 'x', driver: 'overlay' }), ErrorCode.DRIVER_NOT_FOUND],
  ['host driver has no user networks', (m) => m.createNetwork({ name: 'x', driver: 'host' }), ErrorCode.UNSUPPORTED],
  ['bridge name over 15 characters', net({ options: { bridgeName: 'a-very-long-bridge' } }), ErrorCode.INVALID_CONFIG],
  ['bridge name with a space', net({ options: { bridgeName: 'br 0' } }), ErrorCode.INVALID_CONFIG],
  ['bridge name with a newline', net({ options: { bridgeName: 'br0\nlink' } }), ErrorCode.INVALID_CONFIG],
  ['bridge name with a slash', net({ options: { bridgeName: 'br/0' } }), ErrorCode.INVALID_CONFIG],
  ['bridge name with a quote', net({ options: { bridgeName: 'br"0' } }), ErrorCode.INVALID_CONFIG],
  ['existing bridge name with a space', net({ options: { bridge: 'br 1' } }), ErrorCode.INVALID_CONFIG],
  ['MTU too small', net({ options: { mtu: 67 } }), ErrorCode.INVALID_CONFIG],
  ['MTU too large', net({ options: { mtu: 70000 } }), ErrorCode.INVALID_CONFIG],
  ['MTU as a string', net({ options: { mtu: '1500' } }), ErrorCode.INVALID_CONFIG],
  ['unknown network option', net({ options: { colour: 'red' } }), ErrorCode.INVALID_CONFIG],
  ['misspelt mode', run('c', 'brigde'), ErrorCode.NETWORK_NOT_FOUND],
  ['empty mode', run('c', ''), ErrorCode.INVALID_CONFIG],
  ['container: without a name', run('c', 'container:'), ErrorCode.INVALID_CONFIG],
  ['container: of yourself', run('c', 'container:c'), ErrorCode.INVALID_CONFIG],
  ['container: of a missing container', run('c', 'container:ghost'), ErrorCode.ENDPOINT_NOT_FOUND],
  [
    'container: with a published port',
    run('c', 'container:busy', { ports: [{ hostPort: 9000, containerPort: 80 }] }),
    ErrorCode.INVALID_CONFIG,
  ],
  ['container: with a static address', run('c', 'container:busy', { ip: '10.251.0.50' }), ErrorCode.INVALID_CONFIG],
  ['container id with a space', run('my c', 'net1'), ErrorCode.INVALID_CONFIG],
  ['container id too long', run('c'.repeat(200), 'net1'), ErrorCode.INVALID_CONFIG],
  ['container id with a shell character', run('c;rm', 'net1'), ErrorCode.INVALID_CONFIG],
  ['container already connected', run('busy', 'net1'), ErrorCode.ENDPOINT_EXISTS],
  ['container port 0', port({ containerPort: 0 }), ErrorCode.INVALID_CONFIG],
  ['container port over 65535', port({ containerPort: 65536 }), ErrorCode.INVALID_CONFIG],
  ['host port over 65535', port({ hostPort: 70000, containerPort: 80 }), ErrorCode.INVALID_CONFIG],
  ['negative host port', port({ hostPort: -1, containerPort: 80 }), ErrorCode.INVALID_CONFIG],
  ['port range of 0', port({ hostPort: 9000, containerPort: 80, count: 0 }), ErrorCode.INVALID_CONFIG],
  ['port range past 65535', port({ hostPort: 65530, containerPort: 80, count: 10 }), ErrorCode.INVALID_CONFIG],
  ['unknown protocol', port({ hostPort: 9000, containerPort: 80, protocol: 'sctp' }), ErrorCode.INVALID_CONFIG],
  ['malformed host address', port({ hostIp: '1.2.3', hostPort: 9000, containerPort: 80 }), ErrorCode.INVALID_CONFIG],
  ['IPv6 host address', port({ hostIp: '::1', hostPort: 9000, containerPort: 80 }), ErrorCode.INVALID_CONFIG],
  ["host address that is not the host's", port({ hostIp: '192.0.2.7', hostPort: 9004, containerPort: 80 }), ErrorCode.INVALID_CONFIG],
  [
    'the same host port twice',
    run('p', 'net1', {
      ports: [
        { hostPort: 9001, containerPort: 80 },
        { hostPort: 9001, containerPort: 81 },
      ],
    }),
    ErrorCode.PORT_ALLOCATED,
  ],
  ['a host port another container holds', port({ hostPort: 8080, containerPort: 80 }), ErrorCode.PORT_ALLOCATED],
  ['static address outside the subnet', run('s', 'net1', { ip: '10.9.9.9' }), ErrorCode.INVALID_CONFIG],
  ['static address in use', run('s', 'net1', { ip: '10.251.0.10' }), ErrorCode.ADDRESS_IN_USE],
  ['static address is the gateway', run('s', 'net1', { ip: '10.251.0.1' }), ErrorCode.INVALID_CONFIG],
  ['static address is the network address', run('s', 'net1', { ip: '10.251.0.0' }), ErrorCode.INVALID_CONFIG],
  ['static address with an octet over 255', run('s', 'net1', { ip: '10.251.0.256' }), ErrorCode.INVALID_CONFIG],
  ['address pool exhausted', run('s', 'tiny'), ErrorCode.ADDRESS_EXHAUSTED],
  [
    'published port on an internal network',
    run('s', 'inner', { ports: [{ hostPort: 9002, containerPort: 80 }] }),
    ErrorCode.INVALID_CONFIG,
  ],
  ['static address in none mode', run('s', 'none', { ip: '10.251.0.60' }), ErrorCode.INVALID_CONFIG],
  ['published port in none mode', run('s', 'none', { ports: [{ hostPort: 9003, containerPort: 80 }] }), ErrorCode.INVALID_CONFIG],
  ['static address in host mode', run('s', 'host', { ip: '10.251.0.61' }), ErrorCode.INVALID_CONFIG],
  ['a namespace in host mode', run('s', 'host', { netns: { kind: 'named', name: 'elsewhere' } }), ErrorCode.INVALID_CONFIG],
  ['multicast MAC', run('s', 'net1', { mac: '01:00:5e:00:00:01' }), ErrorCode.INVALID_CONFIG],
  ['malformed MAC', run('s', 'net1', { mac: '02:42:ac:11:00' }), ErrorCode.INVALID_CONFIG],
  ['interface name over 15 characters', run('s', 'net1', { ifname: 'eth0-but-longer' + 'x' }), ErrorCode.INVALID_CONFIG],
  ['relative namespace path', run('s', 'none', { netns: { kind: 'path', path: 'proc/1/ns/net' } }), ErrorCode.INVALID_CONFIG],
  ['namespace path with ..', run('s', 'none', { netns: { kind: 'path', path: '/run/netns/../x' } }), ErrorCode.INVALID_CONFIG],
  ['the host namespace as a sandbox', run('s', 'none', { netns: { kind: 'host' } }), ErrorCode.INVALID_CONFIG],
  ['a namespace that does not exist', run('s', 'none', { netns: { kind: 'named', name: 'netmode-no-such' } }), ErrorCode.NETNS_NOT_FOUND],
  ['removing a predefined network', (m) => m.removeNetwork('bridge'), ErrorCode.NETWORK_IN_USE],
  ['removing a network in use', (m) => m.removeNetwork('net1'), ErrorCode.NETWORK_IN_USE],
];

describe.skipIf(!integrationAvailable())('bad input is refused with its code, and changes nothing', () => {
  let fixture: NetnsFixture;
  let netmode: NetworkManager;

  beforeAll(async () => {
    fixture = await createNetnsFixture();
    // A route of the host that a subnet must not shadow.
    await fixture.ip(fixture.hostNetns, 'address', 'add', '10.252.0.1/24', 'dev', 'lo');
    netmode = createNetMode({
      drivers: [(c) => registerBridgeDriver(c, { bip: '10.250.0.1/24' }), registerNoneDriver, registerHostDriver, registerContainerDriver],
      hostNetns: fixture.hostNetns,
      stateDir: fixture.stateDir,
      namePrefix: fixture.prefix,
    });
    await netmode.createNetwork({ name: 'net1', driver: 'bridge', subnets: [{ subnet: '10.251.0.0/24' }] });
    await netmode.createNetwork({ name: 'tiny', driver: 'bridge', subnets: [{ subnet: '10.253.0.0/30' }] });
    await netmode.createNetwork({ name: 'inner', driver: 'bridge', internal: true, subnets: [{ subnet: '10.254.0.0/24' }] });
    await netmode.connect('busy', 'net1', { ip: '10.251.0.10', ports: [{ hostPort: 8080, containerPort: 80 }] });
    await netmode.connect('full', 'tiny');
  });
  afterAll(async () => {
    // Deleting every namespace with the fixture's prefix removes whatever a
    // failed test left (rules included: they live in the host namespace).
    await fixture?.cleanup();
  });

  it(`has at least 50 cases (${CASES.length})`, () => {
    expect(CASES.length).toBeGreaterThanOrEqual(50);
  });

  it.each(CASES)('%s', async (_what, attempt, code) => {
    const before = { host: await fixture.snapshot(), state: await fixture.stateFiles() };
    const error = await attempt(netmode).then(
      () => new Error('accepted'),
      (e: unknown) => e,
    );
    expect(isNetModeError(error), String(error)).toBe(true);
    expect((error as { code: string }).code).toBe(code);
    // The message says what to fix: it names the field or the object at fault.
    expect((error as Error).message.length).toBeGreaterThan(15);
    expect({ host: await fixture.snapshot(), state: await fixture.stateFiles() }).toEqual(before);
  });

  it('writes nothing on a fresh state directory: not for reads, not for a refused network', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'netmode-test-fresh-'));
    try {
      const fresh = createNetMode({
        drivers: [(c) => registerBridgeDriver(c, { bip: '10.250.0.1/24' }), registerNoneDriver],
        hostNetns: fixture.hostNetns,
        stateDir,
        namePrefix: fixture.prefix,
      });
      expect((await fresh.listNetworks()).map((n) => n.name)).toEqual(['bridge', 'none']);
      expect((await fresh.inspectNetwork('bridge')).subnets).toEqual([{ subnet: '10.250.0.0/24', gateway: '10.250.0.1' }]);
      const refused = await fresh
        .createNetwork({ name: 'x', driver: 'bridge', subnets: [{ subnet: '10.231.41.0/24', gateway: '10.231.42.1' }] })
        .then(
          () => new Error('accepted'),
          (e: unknown) => e,
        );
      expect(isNetModeError(refused, ErrorCode.INVALID_CONFIG), String(refused)).toBe(true);
      expect((refused as Error).message).toMatch(/^subnets\[0\]\.gateway: 10.231.42.1 is outside/);
      expect(await readdir(stateDir)).toEqual([]);
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
