import { ErrorCode, createNetMode, isNetModeError, macFromIpv4, type Endpoint, type NetworkManager } from '@netmode/core';
import { integrationAvailable, type HostSnapshot } from '@netmode/core/testing';
import { testNetworkDriver } from '@netmode/core/testing/conformance';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerBridgeDriver, type BridgeDriverOptions } from '../src/index.js';
import { ADDR, createTopology, type Topology } from './support/topology.js';

const root = integrationAvailable();

for (const firewall of ['nftables', 'iptables'] as const) {
  testNetworkDriver({
    title: `driver conformance: bridge (${firewall})`,
    register: (c) => registerBridgeDriver(c, { firewall }),
    mode: 'bridge',
    network: { driver: 'bridge', subnets: [{ subnet: '10.239.0.0/24' }] },
    secondNetwork: { driver: 'bridge', subnets: [{ subnet: '10.239.1.0/24' }] },
    createsSandbox: true,
    connectOptions: {
      ports: [
        { hostPort: 18080, containerPort: 80 },
        { hostPort: 15353, containerPort: 53, protocol: 'udp' },
      ],
    },
    invalidOptions: [
      { ip: '10.1.2.3' },
      { ip: 'fd00::5' },
      { ports: [{ hostPort: 8080, containerPort: 80, hostIp: '::1' }] },
      { ports: [{ containerPort: 0 }] },
    ],
  });
}

// The helper runner (processes: 'helper') starts the same commands from
// another process: the whole suite runs through it once more.
const VARIANTS = [
  ['nftables', 'direct'],
  ['iptables', 'direct'],
  ['nftables', 'helper'],
] as const;

describe.skipIf(!root).each(VARIANTS)('bridge mode on the real kernel (%s, processes %s)', (firewall, processes) => {
  let topo: Topology;
  const managers: NetworkManager[] = [];
  let netmode: NetworkManager;

  const make = (options: BridgeDriverOptions = {}): NetworkManager => {
    const manager = createNetMode({
      drivers: [(c) => registerBridgeDriver(c, { firewall, bip: '10.240.0.1/24', ...options })],
      hostNetns: topo.fixture.hostNetns,
      stateDir: topo.fixture.stateDir,
      namePrefix: topo.fixture.prefix,
      processes,
    });
    managers.push(manager);
    return manager;
  };
  const address = (endpoint: Endpoint) => (endpoint.addresses[0] as string).split('/')[0] as string;
  /** The MAC address `from` learned (by ARP) for `to`'s address, if any. */
  const learnedMac = async (from: Endpoint, to: Endpoint): Promise<string | undefined> => {
    const entries = JSON.parse(await topo.run(from.netns, 'ip', '-json', 'neigh', 'show', address(to))) as { lladdr?: string }[];
    return entries.find((entry) => entry.lladdr !== undefined)?.lladdr;
  };
  const hostVeth = (endpoint: Endpoint) => endpoint.interfaces.find((i) => i.side === 'host')?.name as string;

  beforeAll(async () => {
    topo = await createTopology();
    netmode = make();
  });
  afterAll(async () => {
    // Deleting every namespace with the fixture's prefix removes whatever a
    // failed test left (rules included: they live in the host namespace).
    await topo?.cleanup();
  });

  it('lets a container reach the outside world, which sees the host address (masquerade)', async () => {
    const c = await netmode.connect('out1', 'bridge');
    await topo.serve(topo.ext, 'tcp-serve', 9000);
    await topo.serve(topo.ext, 'udp-serve', 9001);
    expect(await topo.ask(c.netns, 'tcp-ask', ADDR.internet, 9000)).toEqual({ ok: true, out: ADDR.host });
    // To the address the server answers from: an unbound UDP server replies
    // from the address its route picks, which a NAT cannot match to another.
    expect(await topo.ask(c.netns, 'udp-ask', ADDR.ext, 9001)).toEqual({ ok: true, out: ADDR.host });
    expect(await topo.ping(c.netns, ADDR.internet)).toBe(true);
    expect(c.addresses[0]).toMatch(/^10\.240\.0\.\d+\/24$/);
    expect(c.gateways).toEqual(['10.240.0.1']);
    await netmode.disconnect('out1');
  });

  it('publishes a TCP port to the outside, the host (also on 127.0.0.1), other containers and the container itself', async () => {
    const web = await netmode.connect('web', 'bridge', { ports: [{ hostPort: 8080, containerPort: 80 }] });
    const other = await netmode.connect('other', 'bridge');
    await topo.serve(web.netns, 'tcp-serve', 80);
    // From outside, the container sees the real client address (DNAT, no SNAT).
    expect(await topo.ask(topo.ext, 'tcp-ask', ADDR.host, 8080)).toEqual({ ok: true, out: ADDR.ext });
    expect((await topo.ask(topo.fixture.hostNetns, 'tcp-ask', ADDR.host, 8080)).ok).toBe(true);
    expect((await topo.ask(topo.fixture.hostNetns, 'tcp-ask', '127.0.0.1', 8080)).ok).toBe(true);
    expect((await topo.ask(other.netns, 'tcp-ask', ADDR.host, 8080)).ok).toBe(true);
    expect((await topo.ask(web.netns, 'tcp-ask', ADDR.host, 8080)).ok).toBe(true);
    expect(web.ports).toEqual([{ hostPort: 8080, containerPort: 80, count: 1, protocol: 'tcp' }]);
    // Containers on one bridge reach each other directly (icc is on), ARP included.
    expect((await topo.ask(other.netns, 'tcp-ask', address(web), 80)).ok).toBe(true);
    const webMac = web.interfaces.find((i) => i.side === 'sandbox')?.mac;
    expect(webMac).toBe(macFromIpv4(address(web)));
    expect(await learnedMac(other, web)).toBe(webMac);
    await netmode.disconnect('web');
    await netmode.disconnect('other');
    expect((await topo.ask(topo.ext, 'tcp-ask', ADDR.host, 8080)).ok).toBe(false);
  });

  it('publishes a UDP port range', async () => {
    const dns = await netmode.connect('dns', 'bridge', {
      ports: [{ hostPort: 5300, containerPort: 5300, count: 3, protocol: 'udp' }],
    });
    await topo.serve(dns.netns, 'udp-serve', 5302);
    expect(await topo.ask(topo.ext, 'udp-ask', ADDR.host, 5302)).toEqual({ ok: true, out: ADDR.ext });
    await netmode.disconnect('dns');
  });

  it('drops direct access to a container address from outside when no port is published', async () => {
    const c = await netmode.connect('hidden', 'bridge');
    await topo.serve(c.netns, 'tcp-serve', 80);
    await topo.run(topo.ext, 'ip', 'route', 'add', '10.240.0.0/24', 'via', ADDR.host);
    try {
      expect((await topo.ask(topo.ext, 'tcp-ask', address(c), 80)).ok).toBe(false);
      // The host itself may still talk to its containers.
      expect((await topo.ask(topo.fixture.hostNetns, 'tcp-ask', address(c), 80)).ok).toBe(true);
    } finally {
      await topo.run(topo.ext, 'ip', 'route', 'del', '10.240.0.0/24');
      await netmode.disconnect('hidden');
    }
  });

  it('with icc false, blocks containers from each other while published ports keep working', async () => {
    await netmode.createNetwork({ name: 'quiet', driver: 'bridge', subnets: [{ subnet: '10.242.0.0/24' }], options: { icc: false } });
    const a = await netmode.connect('qa', 'quiet', { ports: [{ hostPort: 8081, containerPort: 80 }] });
    const b = await netmode.connect('qb', 'quiet');
    await topo.serve(a.netns, 'tcp-serve', 80);
    expect((await topo.ask(b.netns, 'tcp-ask', address(a), 80)).ok).toBe(false);
    expect(await topo.ping(b.netns, address(a))).toBe(false);
    expect((await topo.ask(b.netns, 'tcp-ask', ADDR.host, 8081)).ok).toBe(true);
    expect((await topo.ask(topo.ext, 'tcp-ask', ADDR.host, 8081)).ok).toBe(true);
    // Below IP too (Docker leaves this open, moby#36355): b's ARP requests
    // never reach a, so b never learns a's MAC, while both still reach the gateway.
    expect(await learnedMac(b, a)).toBeUndefined();
    expect(await topo.ping(b.netns, ADDR.internet)).toBe(true);
    const isolated = await topo.run(topo.fixture.hostNetns, 'nft', 'list', 'set', 'bridge', 'netmode', 'isolated_ports');
    expect(isolated).toContain(`"${hostVeth(a)}" comment "endpoint:${a.id}"`);
    expect(isolated).toContain(`"${hostVeth(b)}" comment "endpoint:${b.id}"`);
    await netmode.disconnect('qa');
    await netmode.disconnect('qb');
    const after = await topo.run(topo.fixture.hostNetns, 'nft', 'list', 'set', 'bridge', 'netmode', 'isolated_ports');
    expect(after).not.toContain('endpoint:q');
    await netmode.removeNetwork('quiet');
  });

  it('isolates two bridge networks from each other', async () => {
    await netmode.createNetwork({ name: 'left', driver: 'bridge', subnets: [{ subnet: '10.243.0.0/24' }] });
    await netmode.createNetwork({ name: 'right', driver: 'bridge', subnets: [{ subnet: '10.244.0.0/24' }] });
    const l = await netmode.connect('l1', 'left');
    const r = await netmode.connect('r1', 'right');
    await topo.serve(r.netns, 'tcp-serve', 80);
    expect((await topo.ask(l.netns, 'tcp-ask', address(r), 80)).ok).toBe(false);
    expect(await topo.ping(l.netns, address(r))).toBe(false);
    // Each still reaches the outside.
    expect(await topo.ping(l.netns, ADDR.internet)).toBe(true);
    expect(await topo.ping(r.netns, ADDR.internet)).toBe(true);
    for (const id of ['l1', 'r1']) await netmode.disconnect(id);
    for (const name of ['left', 'right']) await netmode.removeNetwork(name);
  });

  it('gives an internal network no way out, while its containers reach each other', async () => {
    await netmode.createNetwork({ name: 'vault', driver: 'bridge', internal: true, subnets: [{ subnet: '10.245.0.0/24' }] });
    const a = await netmode.connect('va', 'vault');
    const b = await netmode.connect('vb', 'vault');
    expect(a.gateways).toEqual([]);
    await topo.serve(a.netns, 'tcp-serve', 80);
    expect((await topo.ask(b.netns, 'tcp-ask', address(a), 80)).ok).toBe(true);
    expect(await topo.ping(a.netns, ADDR.internet)).toBe(false);
    expect(await topo.ping(a.netns, ADDR.host)).toBe(false);
    const refused = await netmode.connect('vc', 'vault', { ports: [{ hostPort: 9999, containerPort: 80 }] }).catch((e: unknown) => e);
    expect(isNetModeError(refused, ErrorCode.INVALID_CONFIG)).toBe(true);
    for (const id of ['va', 'vb']) await netmode.disconnect(id);
    await netmode.removeNetwork('vault');
  });

  it('publishing on one host address exposes only that address', async () => {
    const c = await netmode.connect('one', 'bridge', { ports: [{ hostIp: ADDR.hostSecond, hostPort: 8082, containerPort: 80 }] });
    await topo.serve(c.netns, 'tcp-serve', 80);
    expect((await topo.ask(topo.ext, 'tcp-ask', ADDR.hostSecond, 8082)).ok).toBe(true);
    expect((await topo.ask(topo.ext, 'tcp-ask', ADDR.host, 8082)).ok).toBe(false);
    expect((await topo.ask(topo.fixture.hostNetns, 'tcp-ask', '127.0.0.1', 8082)).ok).toBe(false);
    await netmode.disconnect('one');
  });

  it('publishes on 127.0.0.1 alone for the host only', async () => {
    const c = await netmode.connect('local', 'bridge', { ports: [{ hostIp: '127.0.0.1', hostPort: 8083, containerPort: 80 }] });
    await topo.serve(c.netns, 'tcp-serve', 80);
    expect((await topo.ask(topo.fixture.hostNetns, 'tcp-ask', '127.0.0.1', 8083)).ok).toBe(true);
    expect((await topo.ask(topo.ext, 'tcp-ask', ADDR.host, 8083)).ok).toBe(false);
    await netmode.disconnect('local');
  });

  it('refuses a port already published with ERR_PORT_ALLOCATED and leaves nothing behind', async () => {
    await netmode.connect('holder', 'bridge', { ports: [{ hostPort: 8084, containerPort: 80 }] });
    const before: HostSnapshot = await topo.fixture.snapshot();
    for (const ports of [
      [{ hostPort: 8084, containerPort: 81 }],
      [{ hostIp: ADDR.host, hostPort: 8084, containerPort: 81 }],
      [{ hostPort: 8083, containerPort: 80, count: 3 }],
    ]) {
      const error = await netmode.connect('taker', 'bridge', { ports }).catch((e: unknown) => e);
      expect(isNetModeError(error, ErrorCode.PORT_ALLOCATED), JSON.stringify(ports)).toBe(true);
    }
    expect(await topo.fixture.settle(before)).toEqual(before);
    expect((await netmode.list()).map((e) => e.containerId)).toEqual(['holder']);
    // UDP on the same number is another port.
    await netmode.connect('udp-same', 'bridge', { ports: [{ hostPort: 8084, containerPort: 80, protocol: 'udp' }] });
    await netmode.disconnect('udp-same');
    await netmode.disconnect('holder');
  });

  it('picks an ephemeral host port when none is given, and it works', async () => {
    const c = await netmode.connect('eph', 'bridge', { ports: [{ containerPort: 80 }] });
    const hostPort = c.ports[0]?.hostPort as number;
    expect(hostPort).toBeGreaterThanOrEqual(32768);
    expect(hostPort).toBeLessThanOrEqual(60999);
    await topo.serve(c.netns, 'tcp-serve', 80);
    expect((await topo.ask(topo.ext, 'tcp-ask', ADDR.host, hostPort)).ok).toBe(true);
    await netmode.disconnect('eph');
  });

  it("sets the MTU on the bridge and both veth ends; a don't-fragment ping fits exactly", async () => {
    await netmode.createNetwork({ name: 'small', driver: 'bridge', subnets: [{ subnet: '10.246.0.0/24' }], options: { mtu: 1400 } });
    const c = await netmode.connect('mtu', 'small');
    const data = c.driverData as { bridge: string; hostVeth: string };
    const mtuOf = async (netns: typeof c.netns, dev: string) =>
      (JSON.parse(await topo.run(netns, 'ip', '-json', 'link', 'show', 'dev', dev)) as { mtu: number }[])[0]?.mtu;
    expect(await mtuOf(topo.fixture.hostNetns, data.bridge)).toBe(1400);
    expect(await mtuOf(topo.fixture.hostNetns, data.hostVeth)).toBe(1400);
    expect(await mtuOf(c.netns, 'eth0')).toBe(1400);
    // 1400 - 20 (IPv4 header) - 8 (ICMP header) = 1372 bytes of payload.
    expect(await topo.ping(c.netns, '10.246.0.1', 1372)).toBe(true);
    expect(await topo.ping(c.netns, '10.246.0.1', 1373)).toBe(false);
    await netmode.disconnect('mtu');
    await netmode.removeNetwork('small');
  });

  it('leaves the host as it found it after disconnects and network removal', async () => {
    const before = await topo.fixture.snapshot();
    await netmode.createNetwork({ name: 'tmp', driver: 'bridge', subnets: [{ subnet: '10.247.0.0/24' }] });
    await netmode.connect('t1', 'tmp', { ports: [{ hostPort: 8090, containerPort: 80 }] });
    await netmode.connect('t2', 'tmp');
    await netmode.disconnect('t1');
    await netmode.disconnect('t2');
    await netmode.removeNetwork('tmp');
    expect(await topo.fixture.settle(before)).toEqual(before);
    expect(await netmode.list()).toEqual([]);
  });
});

describe.skipIf(!root)('bridge mode with firewall: none', () => {
  let topo: Topology;
  beforeAll(async () => {
    topo = await createTopology();
  });
  afterAll(async () => {
    await topo?.cleanup();
  });

  it('writes no rule anywhere and does not masquerade', async () => {
    const netmode = createNetMode({
      drivers: [(c) => registerBridgeDriver(c, { firewall: 'none', bip: '10.240.0.1/24' })],
      hostNetns: topo.fixture.hostNetns,
      stateDir: topo.fixture.stateDir,
      namePrefix: topo.fixture.prefix,
    });
    const c = await netmode.connect('plain', 'bridge');
    expect((await topo.fixture.snapshot()).ruleset.trim()).toBe('');
    // The gateway answers; the outside world has no route back without masquerade.
    expect(await topo.ping(c.netns, '10.240.0.1')).toBe(true);
    expect(await topo.ping(c.netns, ADDR.internet)).toBe(false);
    const refused = await netmode.connect('pub', 'bridge', { ports: [{ hostPort: 80, containerPort: 80 }] }).catch((e: unknown) => e);
    expect(isNetModeError(refused, ErrorCode.INVALID_CONFIG)).toBe(true);
    await netmode.disconnect('plain');
  });
});

describe.skipIf(!root)("bridge mode on an existing bridge (Docker's -b)", () => {
  let topo: Topology;
  beforeAll(async () => {
    topo = await createTopology();
  });
  afterAll(async () => {
    await topo?.cleanup();
  });

  it('uses it as it is and leaves it as it was', async () => {
    const host = topo.fixture.hostNetns;
    const name = `${topo.fixture.prefix}ex`;
    await topo.run(host, 'ip', 'link', 'add', name, 'type', 'bridge');
    await topo.run(host, 'ip', 'address', 'add', '10.241.0.1/24', 'dev', name);
    await topo.run(host, 'ip', 'link', 'set', name, 'up');
    const show = () => topo.run(host, 'ip', '-json', '-4', 'address', 'show', 'dev', name);
    const before = JSON.parse(await show()) as { addr_info: unknown; ifname: string }[];

    const netmode = createNetMode({
      drivers: [(c) => registerBridgeDriver(c, { bridge: name })],
      hostNetns: host,
      stateDir: topo.fixture.stateDir,
      namePrefix: topo.fixture.prefix,
    });
    const c = await netmode.connect('onex', 'bridge');
    expect(c.addresses[0]).toMatch(/^10\.241\.0\.\d+\/24$/);
    expect(c.gateways).toEqual(['10.241.0.1']);
    expect(await topo.ping(c.netns, ADDR.internet)).toBe(true);
    await netmode.disconnect('onex');
    const after = JSON.parse(await show()) as { addr_info: unknown; ifname: string }[];
    expect(after[0]?.ifname).toBe(name);
    expect(after[0]?.addr_info).toEqual(before[0]?.addr_info);
  });
});

describe.skipIf(!root)('bridge mode beside another bridge on the same subnet (a docker0)', () => {
  let topo: Topology;
  beforeAll(async () => {
    topo = await createTopology();
  });
  afterAll(async () => {
    await topo?.cleanup();
  });

  it('refuses the default subnet when another interface routes it, and changes nothing', async () => {
    const host = topo.fixture.hostNetns;
    const other = `${topo.fixture.prefix}dk`;
    await topo.run(host, 'ip', 'link', 'add', other, 'type', 'bridge');
    await topo.run(host, 'ip', 'address', 'add', '172.17.0.1/16', 'dev', other);
    await topo.run(host, 'ip', 'link', 'set', other, 'up');
    const before = await topo.fixture.snapshot();
    const netmode = createNetMode({
      drivers: [registerBridgeDriver],
      hostNetns: host,
      stateDir: topo.fixture.stateDir,
      namePrefix: topo.fixture.prefix,
    });
    const error = await netmode.connect('clash', 'bridge').catch((e: unknown) => e);
    expect(isNetModeError(error, ErrorCode.SUBNET_OVERLAP)).toBe(true);
    expect(await netmode.list()).toEqual([]);
    expect(await topo.fixture.snapshot()).toEqual(before);
  });
});

describe.skipIf(!root)('user-defined networks before the first connect', () => {
  let topo: Topology;
  beforeAll(async () => {
    topo = await createTopology();
  });
  afterAll(async () => {
    await topo?.cleanup();
  });

  it("never get the default bridge's subnet", async () => {
    const netmode = createNetMode({
      drivers: [(c) => registerBridgeDriver(c, { bip: '10.238.0.1/16' })],
      hostNetns: topo.fixture.hostNetns,
      stateDir: topo.fixture.stateDir,
      namePrefix: topo.fixture.prefix,
      pools: [{ base: '10.238.0.0/15', size: 16 }],
    });
    const network = await netmode.createNetwork({ name: 'first', driver: 'bridge' });
    expect(network.subnets[0]?.subnet).toBe('10.239.0.0/16');
    const c = await netmode.connect('c', 'bridge');
    expect(c.addresses[0]).toMatch(/^10\.238\./);
    await netmode.disconnect('c');
    await netmode.removeNetwork('first');
  });
});
