import {
  ErrorCode,
  MemoryStateStore,
  NetModeError,
  createNetMode,
  isNetModeError,
  parseLinkOwnerAlias,
  type ConnectOptions,
  type Endpoint,
  type NetworkManager,
  type NetworkSpec,
} from '@netmode/core';
import { RecordingRunner, commandMatches } from '@netmode/core/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { registerPtpDriver, type PtpDriverOptions } from '../src/index.js';

const ROUTED: NetworkSpec = { name: 'routed', driver: 'ptp', subnets: [{ subnet: '10.77.0.0/24' }] };

function setup(options: PtpDriverOptions = {}): { runner: RecordingRunner; netmode: NetworkManager } {
  const runner = new RecordingRunner();
  const netmode = createNetMode({ drivers: [(c) => registerPtpDriver(c, options)], runner, store: new MemoryStateStore() });
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

/** The sandbox and host veth the endpoint names. */
function names(endpoint: Endpoint): { ns: string; veth: string } {
  if (endpoint.netns.kind !== 'named') throw new Error('expected a named sandbox');
  const veth = endpoint.interfaces.find((i) => i.side === 'host')?.name;
  if (veth === undefined) throw new Error('expected a host-side interface');
  return { ns: endpoint.netns.name, veth };
}

/** What `ip -json -details address show dev NAME` prints for a veth with addresses. */
const vethJson = (name: string, up: boolean, ...cidrs: string[]) =>
  JSON.stringify([
    {
      ifname: name,
      flags: up ? ['UP'] : [],
      linkinfo: { info_kind: 'veth' },
      addr_info: cidrs.map((c) => ({ family: 'inet', local: c.split('/')[0], prefixlen: Number(c.split('/')[1]) })),
    },
  ]);

describe('ptp networks', () => {
  it.each<[string, Partial<NetworkSpec>, RegExp]>([
    ['an unknown option', { options: { bridge: 'br0' } }, /^options.bridge: is not a ptp network option/],
    ['an mtu out of range', { options: { mtu: 40 } }, /^options.mtu: 40 must be a whole number from 68 to 65535/],
    ['an mtu that is not a number', { options: { mtu: '1500' } }, /^options.mtu: /],
    ['internal', { internal: true }, /^internal: is not supported by the ptp driver/],
    [
      'two subnets',
      { subnets: [{ subnet: '10.0.0.0/24' }, { subnet: '10.0.1.0/24' }] },
      /^subnets: a ptp network takes at most one subnet/,
    ],
    ['an IPv6 subnet', { subnets: [{ subnet: 'fd00:77::/64' }] }, /^subnets\[0\].subnet: .*IPv4 subnets only/],
    [
      'a gateway outside the subnet',
      { subnets: [{ subnet: '10.0.0.0/24', gateway: '10.0.1.1' }] },
      /^subnets\[0\].gateway: 10.0.1.1 is outside/,
    ],
    ['host bits set', { subnets: [{ subnet: '10.0.0.1/24' }] }, /^subnets\[0\].subnet: /],
  ])('refuses %s before any command runs', async (_what, change, message) => {
    const { runner, netmode } = setup();
    const error = await failure(netmode.createNetwork({ ...ROUTED, ...change }));
    expect(error.code).toBe(ErrorCode.INVALID_CONFIG);
    expect(error.message).toMatch(message);
    expect(runner.commands).toEqual([]);
    expect(await netmode.listNetworks()).toEqual([]);
  });

  it('refuses bad driver options at registration', () => {
    expect(() => setup({ mtu: 70_000 })).toThrow(/^mtu: 70000 must be/);
    expect(() => setup({ ipForward: 'yes' as never })).toThrow(/^ipForward: /);
  });

  it('takes a subnet from the pools when none is given, and makes nothing in the kernel', async () => {
    const { runner, netmode } = setup({ mtu: 9000 });
    const network = await netmode.createNetwork({ name: 'auto', driver: 'ptp' });
    expect(network).toMatchObject({
      status: 'ready',
      subnets: [{ subnet: '172.17.0.0/16', gateway: '172.17.0.1' }],
      options: { mtu: 9000 },
    });
    // IPAM reads the host's routes to avoid them; the driver runs nothing of its own.
    expect(runner.transcript()).toBe(['[host] ip -json -4 route show table all', '[host] ip -json -6 route show table all'].join('\n'));
  });
});

describe('ptp endpoints', () => {
  let runner: RecordingRunner;
  let netmode: NetworkManager;
  beforeEach(async () => {
    ({ runner, netmode } = setup());
    await netmode.createNetwork(ROUTED);
    await netmode.createNetwork({
      name: 'jumbo',
      driver: 'ptp',
      subnets: [{ subnet: '10.78.0.0/24', gateway: '10.78.0.254' }],
      options: { mtu: 9000 },
    });
    runner.clear();
  });

  it('makes a veth pair without a bridge, the /32s and the routes, in exactly these batches', async () => {
    const endpoint = await netmode.connect('web', 'routed');
    const { ns, veth } = names(endpoint);
    const alias = /alias (\S+)/.exec(runner.transcript())?.[1] ?? '';
    // The mark names this instance and the endpoint: what gc reads.
    expect(parseLinkOwnerAlias(alias)?.owner).toBe(`endpoint:${endpoint.id}`);
    expect(veth).toMatch(/^nm-p[0-9a-f]{11}$/);
    expect(runner.transcript()).toBe(
      [
        '[host] sysctl -q -w net/ipv4/ip_forward=1',
        '[host] ip -batch -',
        `  netns add ${ns}`,
        // netmode's sandbox service gives every namespace it makes Docker's container sysctls.
        `[named:${ns}] sysctl -q -w net/ipv4/ip_unprivileged_port_start=0 net/ipv4/ping_group_range=0 2147483647 net/ipv6/conf/all/disable_ipv6=1 net/ipv6/conf/default/disable_ipv6=1`,
        '[host] ip -batch -',
        `  link add ${veth} mtu 1500 up type veth peer name eth0 mtu 1500 netns /run/netns/${ns}`,
        `  link set dev ${veth} alias ${alias}`,
        `  address add 10.77.0.1/32 dev ${veth} scope link`,
        `  route add 10.77.0.2 dev ${veth} scope link`,
        `[named:${ns}] ip -batch -`,
        '  link set dev lo up',
        '  address add 10.77.0.2/32 dev eth0',
        '  link set dev eth0 up',
        '  route add 10.77.0.1 dev eth0 scope link',
        '  route add default via 10.77.0.1 dev eth0',
      ].join('\n'),
    );
    expect(endpoint).toMatchObject({
      driver: 'ptp',
      ownsNetns: true,
      interfaces: [
        { name: 'eth0', side: 'sandbox', mtu: 1500 },
        { name: veth, side: 'host', mtu: 1500 },
      ],
      addresses: ['10.77.0.2/32'],
      gateways: ['10.77.0.1'],
      ports: [],
      driverData: { hostVeth: veth, ifname: 'eth0', address: '10.77.0.2/32', gateway: '10.77.0.1', mtu: 1500 },
    });
  });

  it('turns forwarding on once per instance, and never with ipForward: false', async () => {
    await netmode.connect('a', 'routed');
    await netmode.connect('b', 'routed');
    const forwarding = (commands: typeof runner.commands) =>
      commands.filter((c) => c.args.some((a) => a.startsWith('net/ipv4/ip_forward')));
    expect(forwarding(runner.commands)).toHaveLength(1);

    const off = setup({ ipForward: false });
    await off.netmode.createNetwork(ROUTED);
    await off.netmode.connect('a', 'routed');
    expect(forwarding(off.runner.commands)).toEqual([]);
  });

  it("takes the static ip, mac, ifname and the network's mtu and gateway", async () => {
    const endpoint = await netmode.connect('db', 'jumbo', { ip: '10.78.0.9', mac: '02:00:00:00:00:09', ifname: 'ptp0' });
    const { ns, veth } = names(endpoint);
    expect(runner.transcript()).toContain(
      [
        `  link add ${veth} mtu 9000 up type veth peer name ptp0 address 02:00:00:00:00:09 mtu 9000 netns /run/netns/${ns}`,
        `  link set dev ${veth} alias `,
      ].join('\n'),
    );
    expect(runner.transcript()).toContain(
      `  address add 10.78.0.254/32 dev ${veth} scope link\n  route add 10.78.0.9 dev ${veth} scope link`,
    );
    expect(runner.transcript()).toContain('  route add 10.78.0.254 dev ptp0 scope link\n  route add default via 10.78.0.254 dev ptp0');
    expect(endpoint.interfaces[0]).toEqual({ name: 'ptp0', side: 'sandbox', mtu: 9000, mac: '02:00:00:00:00:09' });
  });

  it.each<[string, ConnectOptions, RegExp]>([
    ['published ports', { ports: [{ hostPort: 8080, containerPort: 80 }] }, /^ports: cannot be published on a ptp network/],
    ['an ip outside the subnet', { ip: '10.1.1.1' }, /^ip: 10.1.1.1 is outside the network's subnet 10.77.0.0\/24/],
    ['an IPv6 ip', { ip: 'fd00::2' }, /^ip: .*IPv4 addresses only/],
  ])('refuses %s before any command runs', async (_what, options, message) => {
    const error = await failure(netmode.connect('web', 'routed', options));
    expect(error.code).toBe(ErrorCode.INVALID_CONFIG);
    expect(error.message).toMatch(message);
    expect(runner.commands).toEqual([]);
    expect(await netmode.list()).toEqual([]);
  });

  it('rolls back when the sandbox side fails: the host end goes, and the address is free again', async () => {
    let failing = true;
    runner.respond(
      (spec) => spec.input?.startsWith('link set dev lo up') ?? false,
      (spec) => {
        if (!failing) return {};
        failing = false;
        return new NetModeError(ErrorCode.COMMAND_FAILED, 'ip failed', {
          context: {
            argv: [spec.command, ...spec.args],
            exitCode: 1,
            stderr: 'RTNETLINK answers: Network is unreachable\nCommand failed -:4\n',
          },
        });
      },
    );
    runner.respond(commandMatches('ip', '-json', '-details', 'address', 'show'), (spec) => ({
      stdout: vethJson(spec.args.at(-1) ?? '', true),
    }));
    const error = await failure(netmode.connect('web', 'routed'));
    expect(error.context).toMatchObject({ rolledBack: true, failedCommand: 'route add 10.77.0.1 dev eth0 scope link' });
    const veth = /link add (\S+)/.exec(runner.transcript())?.[1] ?? '';
    // The undo, last in first out: the host end (its peer, route and address with it), then the sandbox,
    // whose file never existed here, so SandboxService has nothing to delete.
    expect(runner.transcript().split('\n').slice(-3).join('\n')).toBe(
      [`[host] ip -json -details address show dev ${veth}`, '[host] ip -batch -', `  link delete dev ${veth}`].join('\n'),
    );
    expect(await netmode.list()).toEqual([]);
    await expect(netmode.connect('other', 'routed', { ip: '10.77.0.2' })).resolves.toMatchObject({ addresses: ['10.77.0.2/32'] });
  });

  it('detaches by deleting the host end first, so its route is gone before the address is released', async () => {
    const { veth } = names(await netmode.connect('web', 'routed'));
    runner.respond(commandMatches('ip', '-json', '-details', 'address', 'show', 'dev', veth), { stdout: vethJson(veth, true) });
    runner.clear();
    await netmode.disconnect('web');
    expect(runner.transcript()).toBe(
      [`[host] ip -json -details address show dev ${veth}`, '[host] ip -batch -', `  link delete dev ${veth}`].join('\n'),
    );
    // A link of that name that is no veth is someone else's: left alone.
    const other = setup();
    await other.netmode.createNetwork(ROUTED);
    const name = names(await other.netmode.connect('web', 'routed')).veth;
    other.runner.respond(commandMatches('ip', '-json', '-details', 'address', 'show', 'dev', name), {
      stdout: JSON.stringify([{ ifname: name, linkinfo: { info_kind: 'dummy' } }]),
    });
    other.runner.clear();
    await other.netmode.disconnect('web');
    expect(other.runner.commands.filter((c) => c.input !== undefined)).toEqual([]);
  });
});
