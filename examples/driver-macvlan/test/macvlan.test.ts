import {
  ErrorCode,
  MemoryStateStore,
  NetModeError,
  createNetMode,
  isNetModeError,
  type ConnectOptions,
  type Endpoint,
  type NetworkManager,
  type NetworkSpec,
} from '@netmode/core';
import { RecordingRunner, commandMatches } from '@netmode/core/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { macvlanAdd } from '../src/kernel.js';
import { registerMacvlanDriver, type MacvlanDriverOptions } from '../src/index.js';

const LAN: NetworkSpec = {
  name: 'lan',
  driver: 'macvlan',
  subnets: [{ subnet: '192.168.7.0/24', gateway: '192.168.7.1' }],
  options: { parent: 'eth9' },
};
// The sandbox the manager named for an endpoint: the default prefix, the
// instance's tag and hash digits of the container id.
const sandbox = (endpoint: Endpoint): string => {
  if (endpoint.netns.kind !== 'named') throw new Error('expected a named sandbox');
  expect(endpoint.netns.name).toMatch(/^nm-[0-9a-f]{8}-[0-9a-f]{16}$/);
  return endpoint.netns.name;
};

function setup(options: MacvlanDriverOptions = {}): { runner: RecordingRunner; netmode: NetworkManager } {
  const runner = new RecordingRunner();
  const netmode = createNetMode({
    drivers: [(c) => registerMacvlanDriver(c, options)],
    runner,
    store: new MemoryStateStore(),
  });
  return { runner, netmode };
}

async function failure(promise: Promise<unknown>): Promise<NetModeError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isNetModeError(error)) throw new Error(`expected a NetModeError, got ${String(error)}`);
  return error;
}

describe('macvlan networks', () => {
  it.each<[string, Partial<NetworkSpec>, RegExp]>([
    ['no parent', { options: {} }, /^options.parent: is required/],
    ['a bad parent name', { options: { parent: 'eth 0' } }, /^options.parent: /],
    ['a parent name too long', { options: { parent: 'x'.repeat(16) } }, /^options.parent: /],
    ['an unknown mode', { options: { parent: 'eth9', mode: 'hub' } }, /^options.mode: "hub" must be one of/],
    [
      'an unknown option',
      { options: { parent: 'eth9', macvlan_mode: 'bridge' } },
      /^options.macvlan_mode: is not a macvlan network option/,
    ],
    ['no subnet', { subnets: [] }, /^subnets: a macvlan network takes exactly one subnet/],
    [
      'two subnets',
      {
        subnets: [
          { subnet: '10.0.0.0/24', gateway: '10.0.0.1' },
          { subnet: '10.0.1.0/24', gateway: '10.0.1.1' },
        ],
      },
      /^subnets: /,
    ],
    ['no gateway', { subnets: [{ subnet: '10.0.0.0/24' }] }, /^subnets\[0\].gateway: is required/],
    ['a gateway outside', { subnets: [{ subnet: '10.0.0.0/24', gateway: '10.0.1.1' }] }, /^subnets\[0\].gateway: 10.0.1.1 is outside/],
    ['the broadcast as gateway', { subnets: [{ subnet: '10.0.0.0/24', gateway: '10.0.0.255' }] }, /network or broadcast/],
    ['host bits set', { subnets: [{ subnet: '10.0.0.1/24', gateway: '10.0.0.1' }] }, /^subnets\[0\].subnet: /],
    ['an IPv6 subnet', { subnets: [{ subnet: 'fd00::/64', gateway: 'fd00::1' }] }, /IPv4 subnets only/],
    [
      'an ipRange outside',
      { subnets: [{ subnet: '10.0.0.0/24', gateway: '10.0.0.1', ipRange: '10.0.1.0/28' }] },
      /^subnets\[0\].ipRange: /,
    ],
    ['internal', { internal: true }, /^internal: is not supported/],
  ])('refuses %s before any command runs', async (_what, change, message) => {
    const { runner, netmode } = setup();
    const error = await failure(netmode.createNetwork({ ...LAN, ...change }));
    expect(error.code).toBe(ErrorCode.INVALID_CONFIG);
    expect(error.message).toMatch(message);
    expect(runner.commands).toEqual([]);
    expect((await netmode.listNetworks()).map((n) => n.name)).toEqual([]);
  });

  it('refuses an unknown default mode at registration', () => {
    expect(() => setup({ defaultMode: 'hub' as never })).toThrow(/defaultMode/);
  });

  it('checks the parent, reserves the subnet and settles the options', async () => {
    const { runner, netmode } = setup();
    const network = await netmode.createNetwork({ ...LAN, subnets: [{ ...LAN.subnets![0]!, ipRange: '192.168.7.128/25' }] });
    expect(network).toMatchObject({
      driver: 'macvlan',
      status: 'ready',
      subnets: [{ subnet: '192.168.7.0/24', gateway: '192.168.7.1', ipRange: '192.168.7.128/25' }],
      options: { parent: 'eth9', mode: 'bridge' },
    });
    expect(runner.transcript()).toBe(
      [
        '[host] ip -json -details address show dev eth9',
        '[host] ip -json -4 route show table all',
        '[host] ip -json -6 route show table all',
      ].join('\n'),
    );
    // Addresses come from the ipRange, keeping containers off the rest of the outside network.
    expect((await netmode.connect('web', 'lan')).interfaces).toEqual([{ name: 'eth0', side: 'sandbox', mac: '02:42:c0:a8:07:80' }]);
    expect((await netmode.inspectEndpoint('web')).addresses).toEqual(['192.168.7.128/24']);
  });

  it("takes the driver's default mode", async () => {
    const { netmode } = setup({ defaultMode: 'private' });
    expect((await netmode.createNetwork(LAN)).options).toEqual({ parent: 'eth9', mode: 'private' });
  });

  it('refuses a parent that does not exist, and keeps no record or subnet', async () => {
    const { runner, netmode } = setup();
    runner.failOn(commandMatches('ip', '-json', '-details', 'address', 'show'), 'Device "eth9" does not exist.');
    const error = await failure(netmode.createNetwork(LAN));
    expect(error.code).toBe(ErrorCode.INVALID_CONFIG);
    expect(error.message).toMatch(/^options.parent: eth9 does not exist in the host namespace/);
    expect((await netmode.listNetworks()).map((n) => n.name)).toEqual([]);
    // The subnet is free: a network on it can be made once the parent is there.
    const again = setup();
    await expect(again.netmode.createNetwork(LAN)).resolves.toMatchObject({ name: 'lan' });
  });

  it('refuses a parent that is not an Ethernet link', async () => {
    const { runner, netmode } = setup();
    runner.respond(commandMatches('ip', '-json', '-details', 'address', 'show'), {
      stdout: JSON.stringify([{ ifname: 'eth9', link_type: 'loopback', flags: ['UP'] }]),
    });
    expect((await failure(netmode.createNetwork(LAN))).message).toMatch(/eth9 is a loopback link; macvlan needs an Ethernet parent/);
  });
});

describe('macvlan endpoints', () => {
  let runner: RecordingRunner;
  let netmode: NetworkManager;
  beforeEach(async () => {
    ({ runner, netmode } = setup());
    await netmode.createNetwork(LAN);
    await netmode.createNetwork({
      ...LAN,
      name: 'pt',
      subnets: [{ subnet: '192.168.8.0/24', gateway: '192.168.8.1' }],
      options: { parent: 'eth8', mode: 'passthru' },
    });
    runner.clear();
  });

  it('makes the macvlan in one host-side line, born in the sandbox as eth0, then one batch inside', async () => {
    const endpoint = await netmode.connect('web', 'lan');
    const ns = sandbox(endpoint);
    expect(runner.transcript()).toBe(
      [
        '[host] ip -batch -',
        `  netns add ${ns}`,
        // Docker's container sysctls, written by the sandbox service in every sandbox netmode makes.
        `[named:${ns}] sysctl -q -w net/ipv4/ip_unprivileged_port_start=0 net/ipv4/ping_group_range=0 2147483647 net/ipv6/conf/all/disable_ipv6=1 net/ipv6/conf/default/disable_ipv6=1`,
        '[host] ip -batch -',
        `  link add eth0 address 02:42:c0:a8:07:02 link eth9 netns /run/netns/${ns} type macvlan mode bridge`,
        `[named:${ns}] ip -batch -`,
        '  link set dev lo up',
        '  link set dev eth0 up',
        '  address add 192.168.7.2/24 dev eth0',
        '  route add default via 192.168.7.1 dev eth0',
      ].join('\n'),
    );
    expect(endpoint).toMatchObject({
      driver: 'macvlan',
      netns: { kind: 'named', name: ns },
      ownsNetns: true,
      interfaces: [{ name: 'eth0', side: 'sandbox', mac: '02:42:c0:a8:07:02' }],
      addresses: ['192.168.7.2/24'],
      gateways: ['192.168.7.1'],
      ports: [],
      driverData: { parent: 'eth9', mode: 'bridge', ifname: 'eth0', address: '192.168.7.2/24', mac: '02:42:c0:a8:07:02' },
    });
  });

  it('takes the static ip, mac and ifname', async () => {
    const ns = sandbox(await netmode.connect('web', 'lan', { ip: '192.168.7.200', mac: '02:00:00:00:00:07', ifname: 'lan0' }));
    expect(runner.transcript()).toContain(
      `  link add lan0 address 02:00:00:00:00:07 link eth9 netns /run/netns/${ns} type macvlan mode bridge`,
    );
    expect(runner.transcript()).toContain('  address add 192.168.7.200/24 dev lan0\n  route add default via 192.168.7.1 dev lan0');
  });

  it("sets no MAC in passthru mode, where the endpoint takes the parent's", async () => {
    const endpoint = await netmode.connect('web', 'pt');
    expect(runner.transcript()).toContain(`  link add eth0 link eth8 netns /run/netns/${sandbox(endpoint)} type macvlan mode passthru`);
    expect(endpoint.interfaces).toEqual([{ name: 'eth0', side: 'sandbox' }]);
  });

  it.each<[string, string, ConnectOptions, RegExp]>([
    [
      'published ports',
      'lan',
      { ports: [{ hostPort: 8080, containerPort: 80 }] },
      /^ports: cannot be published on a macvlan network: there is no host-side NAT/,
    ],
    ['an ip outside the subnet', 'lan', { ip: '10.1.1.1' }, /^ip: 10.1.1.1 is outside the network's subnet 192.168.7.0\/24/],
    ['an IPv6 ip', 'lan', { ip: 'fd00::2' }, /^ip: .*IPv4 addresses only/],
    ['a mac in passthru mode', 'pt', { mac: '02:00:00:00:00:07' }, /^mac: cannot be set on a passthru/],
  ])('refuses %s before any command runs', async (_what, network, options, message) => {
    const error = await failure(netmode.connect('web', network, options));
    expect(error.code).toBe(ErrorCode.INVALID_CONFIG);
    expect(error.message).toMatch(message);
    expect(runner.commands).toEqual([]);
    expect(await netmode.list()).toEqual([]);
  });

  it('rolls back when the macvlan cannot be made, releasing the address', async () => {
    let failing = true;
    runner.respond(
      (spec) => spec.input?.startsWith('link add eth0') ?? false,
      (spec) => {
        if (!failing) return {};
        failing = false;
        return new NetModeError(ErrorCode.COMMAND_FAILED, 'ip failed', {
          context: { argv: [spec.command, ...spec.args], exitCode: 1, stderr: 'RTNETLINK answers: Invalid argument\nCommand failed -:1\n' },
        });
      },
    );
    const error = await failure(netmode.connect('web', 'lan'));
    expect(error.code).toBe(ErrorCode.COMMAND_FAILED);
    expect(error.context).toMatchObject({
      rolledBack: true,
      failedCommand: expect.stringMatching(/^link add eth0 address 02:42:c0:a8:07:02 /),
    });
    expect(await netmode.list()).toEqual([]);
    // The address went back: another container can have it.
    await expect(netmode.connect('other', 'lan', { ip: '192.168.7.2' })).resolves.toMatchObject({ addresses: ['192.168.7.2/24'] });
  });

  it('waits while the MAC is still held by a macvlan the kernel is removing, then retries the inside batch', async () => {
    let busy = 2;
    runner.respond(
      (spec) => spec.input?.startsWith('link set dev lo up') ?? false,
      (spec) =>
        busy-- > 0
          ? new NetModeError(ErrorCode.COMMAND_FAILED, 'ip failed', {
              context: {
                argv: [spec.command, ...spec.args],
                exitCode: 1,
                stderr: 'RTNETLINK answers: Address already in use\nCommand failed -:2\n',
              },
              // What a runner reads from that stderr (classifyToolFailure).
              failure: 'busy',
            })
          : {},
    );
    await netmode.connect('web', 'lan');
    expect(runner.commands.filter((c) => c.input?.startsWith('link set dev lo up'))).toHaveLength(3);
  });

  it('gives up on other failures of the inside batch at once', async () => {
    runner.failOn(
      (spec) => spec.input?.startsWith('link set dev lo up') ?? false,
      'RTNETLINK answers: Network is unreachable\nCommand failed -:4',
    );
    const error = await failure(netmode.connect('web', 'lan'));
    expect(error.rolledBack).toBe(true);
    expect(runner.commands.filter((c) => c.input?.startsWith('link set dev lo up'))).toHaveLength(1);
  });
});

describe('the macvlan batch line', () => {
  it("is built from checked values only, by core's IpBatch", () => {
    expect(macvlanAdd({ name: 'eth0', parent: 'eth0.10', mode: 'vepa', netnsPath: '/proc/42/ns/net' }).lines).toEqual([
      'link add eth0 link eth0.10 netns /proc/42/ns/net type macvlan mode vepa',
    ]);
    expect(() => macvlanAdd({ name: 'eth0', parent: 'eth0 type dummy', mode: 'bridge', netnsPath: '/run/netns/x' })).toThrow(/parent/);
    expect(() => macvlanAdd({ name: 'eth0', parent: 'eth0', mode: 'bridge', netnsPath: '/run/netns/x #' })).toThrow(/netns/);
    expect(() => macvlanAdd({ name: 'eth0', parent: 'eth0', mode: 'hub' as never, netnsPath: '/run/netns/x' })).toThrow(/mode/);
    expect(() => macvlanAdd({ name: 'eth0', parent: 'eth0', mode: 'bridge', mac: 'zz', netnsPath: '/run/netns/x' })).toThrow(/mac/);
  });
});
