import { createNetMode, type Endpoint, type NetworkManager } from '@netmode/core';
import { integrationAvailable } from '@netmode/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerBridgeDriver } from '../src/index.js';
import { ADDR, createTopology, type Topology } from './support/topology.js';

// Holes in the isolation a container must not get through (issue #17, items
// 7-11). Each test first shows the way in, then that it is closed.

const GATEWAY = '10.235.0.1';
const BR_NF = ['net.bridge.bridge-nf-call-iptables', 'net.bridge.bridge-nf-call-ip6tables'];

describe.skipIf(!integrationAvailable()).each(['nftables', 'iptables'] as const)('isolation (%s)', (firewall) => {
  let topo: Topology;
  let netmode: NetworkManager;
  const make = () =>
    createNetMode({
      drivers: [(c) => registerBridgeDriver(c, { firewall, bip: `${GATEWAY}/24` })],
      hostNetns: topo.fixture.hostNetns,
      stateDir: topo.fixture.stateDir,
      namePrefix: topo.fixture.prefix,
    });
  const address = (endpoint: Endpoint) => (endpoint.addresses[0] as string).split('/')[0] as string;
  const mac = (endpoint: Endpoint) => endpoint.interfaces.find((i) => i.side === 'sandbox')?.mac as string;
  const hostVeth = (endpoint: Endpoint) => endpoint.interfaces.find((i) => i.side === 'host')?.name as string;
  const bridgeOf = (endpoint: Endpoint) => String(endpoint.driverData['bridge']);
  const host = () => topo.fixture.hostNetns;
  /** Runs a command where the failure is the answer. */
  const succeeds = (netns: Endpoint['netns'], command: string, ...args: string[]) =>
    topo.run(netns, command, ...args).then(
      () => true,
      () => false,
    );
  const setBrNf = async (value: 0 | 1) => {
    await topo.run(host(), 'sysctl', '-q', '-w', ...BR_NF.map((key) => `${key}=${value}`));
  };

  beforeAll(async () => {
    topo = await createTopology();
    netmode = make();
  });
  afterAll(async () => {
    // Deleting every namespace with the fixture's prefix removes whatever a
    // failed test left (rules included: they live in the host namespace).
    await topo?.cleanup();
  });

  // Item 7.
  describe.each([0, 1] as const)('with bridge-nf-call-ip(6)tables = %s in the host namespace', (brNf) => {
    it('icc: false keeps two containers apart (IPv6, and IPv4 with static neighbours) while published ports work', async () => {
      await setBrNf(brNf);
      const name = `quiet${brNf}`;
      await netmode.createNetwork({ name, driver: 'bridge', subnets: [{ subnet: `10.236.${brNf}.0/24` }], options: { icc: false } });
      const a = await netmode.connect(`qa${brNf}`, name, { ports: [{ hostPort: 8090 + brNf, containerPort: 80 }] });
      const b = await netmode.connect(`qb${brNf}`, name);
      try {
        await topo.serve(a.netns, 'tcp-serve', 80);
        // netmode turns IPv6 off in its sandboxes, but a container is root in
        // its namespace and may turn it on again: as one that forges would.
        for (const netns of [a.netns, b.netns]) await topo.run(netns, 'sysctl', '-q', '-w', 'net.ipv6.conf.eth0.disable_ipv6=0');
        // Addresses no router hands out, without duplicate address detection.
        await topo.run(a.netns, 'ip', '-6', 'address', 'add', `fd00:${brNf}::a/64`, 'dev', 'eth0', 'nodad');
        await topo.run(b.netns, 'ip', '-6', 'address', 'add', `fd00:${brNf}::b/64`, 'dev', 'eth0', 'nodad');
        expect(await succeeds(b.netns, 'ping', '-6', '-c', '1', '-W', '1', `fd00:${brNf}::a`)).toBe(false);
        // ARP between them is dropped; with each other's MAC written by hand, IPv4 needs no ARP.
        await topo.run(b.netns, 'ip', 'neigh', 'replace', address(a), 'lladdr', mac(a), 'dev', 'eth0');
        await topo.run(a.netns, 'ip', 'neigh', 'replace', address(b), 'lladdr', mac(b), 'dev', 'eth0');
        expect((await topo.ask(b.netns, 'tcp-ask', address(a), 80)).ok).toBe(false);
        expect(await topo.ping(b.netns, address(a))).toBe(false);
        // The published port stays open: to the other container (through
        // the DNAT, which br_netfilter forwards at layer 2 on one bridge) and from outside.
        expect((await topo.ask(b.netns, 'tcp-ask', ADDR.host, 8090 + brNf)).ok).toBe(true);
        expect((await topo.ask(b.netns, 'tcp-ask', `10.236.${brNf}.1`, 8090 + brNf)).ok).toBe(true);
        expect((await topo.ask(topo.ext, 'tcp-ask', ADDR.host, 8090 + brNf)).ok).toBe(true);
        expect(await topo.ping(b.netns, ADDR.internet)).toBe(true);
      } finally {
        await netmode.disconnect(`qa${brNf}`);
        await netmode.disconnect(`qb${brNf}`);
        await netmode.removeNetwork(name);
        await setBrNf(1);
      }
    });
  });

  // Item 8.
  it('drops packets with a 127.0.0.0/8 source arriving from a container, to the gateway and to other host addresses', async () => {
    const c = await netmode.connect('forger', 'bridge');
    const log = await topo.record(host(), 7001);
    try {
      // Root in its own namespace, the container may send from 127/8 out of eth0.
      await topo.run(c.netns, 'sysctl', '-q', '-w', 'net.ipv4.conf.eth0.route_localnet=1');
      for (const target of [GATEWAY, ADDR.hostSecond]) {
        expect(await topo.send(c.netns, target, 7001, '127.0.0.9', `forged-${target}`)).toBe(true);
        // Sent after the forged one on the same path: once it is in, the forged one would be too.
        expect(await topo.send(c.netns, target, 7001, address(c), `marker-${target}`)).toBe(true);
        expect(await log.waitFor(`marker-${target}`)).toBe(true);
      }
      expect(log.lines.filter((line) => line.includes('forged'))).toEqual([]);
    } finally {
      await log.stop();
      await netmode.disconnect('forger');
    }
  });

  // Item 9.
  it("reconcile restores a base rule deleted by hand, closing the host's loopback to containers again", async () => {
    const c = await netmode.connect('loop', 'bridge');
    const stop = await topo.serve(host(), 'tcp-serve', 7002);
    try {
      // The container routes 127.0.0.2 to the gateway, as its own root may.
      await topo.run(c.netns, 'sysctl', '-q', '-w', 'net.ipv4.conf.eth0.route_localnet=1');
      await topo.run(c.netns, 'ip', 'route', 'del', 'table', 'local', 'local', '127.0.0.0/8', 'dev', 'lo');
      await topo.run(c.netns, 'ip', 'route', 'add', '127.0.0.2/32', 'via', GATEWAY, 'dev', 'eth0');
      expect((await topo.ask(c.netns, 'tcp-ask', '127.0.0.2', 7002)).ok).toBe(false);
      if (firewall === 'nftables') {
        await deleteNftRule('inet', 'prerouting_guard', 'ip daddr 127.0.0.0/8');
      } else {
        await deleteIptablesRule('raw', 'NETMODE-GUARD', (rule) => rule.includes(`-i ${bridgeOf(c)}`) && rule.includes('-d 127.0.0.0/8'));
      }
      expect((await topo.ask(c.netns, 'tcp-ask', '127.0.0.2', 7002)).ok).toBe(true);

      const report = await make().reconcile();
      expect(report).toMatchObject({ repaired: ['loop'], failures: [] });
      expect((await topo.ask(c.netns, 'tcp-ask', '127.0.0.2', 7002)).ok).toBe(false);
    } finally {
      await stop();
      await netmode.disconnect('loop');
    }
  });

  it('reconcile restores a deleted set, or a deleted hook jump, with its elements', async () => {
    const c = await netmode.connect('masq', 'bridge');
    try {
      expect(await topo.ping(c.netns, ADDR.internet)).toBe(true);
      if (firewall === 'nftables') {
        // The set can go once no rule refers to it; with it go its elements.
        await deleteNftRule('inet', 'postrouting', 'iifname @masq_bridges');
        await topo.run(host(), 'nft', 'delete', 'set', 'inet', 'netmode', 'masq_bridges');
      } else {
        await deleteIptablesRule('nat', 'POSTROUTING', (rule) => rule.includes('-j NETMODE-POSTROUTING'));
      }
      // Not masqueraded, the reply never finds its way back.
      expect(await topo.ping(c.netns, ADDR.internet)).toBe(false);

      const report = await make().reconcile();
      expect(report).toMatchObject({ repaired: ['masq'], failures: [] });
      expect(await topo.ping(c.netns, ADDR.internet)).toBe(true);
    } finally {
      await netmode.disconnect('masq');
    }
  });

  it('reconcile restores a rule deleted from the bridge table of icc: false ports', async () => {
    await netmode.createNetwork({ name: 'hushed', driver: 'bridge', subnets: [{ subnet: '10.236.9.0/24' }], options: { icc: false } });
    const a = await netmode.connect('ha', 'hushed');
    const b = await netmode.connect('hb', 'hushed');
    // No IP hook sees bridged frames then: the bridge table alone stands between them.
    await setBrNf(0);
    try {
      /** Whether b's ARP request for a's address got an answer. */
      const arpAnswered = async () => {
        await topo.run(b.netns, 'ip', 'neigh', 'flush', 'dev', 'eth0');
        await topo.ping(b.netns, address(a));
        const entries = JSON.parse(await topo.run(b.netns, 'ip', '-json', 'neigh', 'show', address(a))) as { lladdr?: string }[];
        return entries.some((entry) => entry.lladdr === mac(a));
      };
      expect(await arpAnswered()).toBe(false);
      await deleteNftRule('bridge', 'forward', 'iifname @isolated_ports');
      expect(await arpAnswered()).toBe(true);

      const report = await make().reconcile();
      expect(report).toMatchObject({ failures: [] });
      expect(report.repaired).toEqual(expect.arrayContaining(['ha', 'hb']));
      expect(await arpAnswered()).toBe(false);
    } finally {
      await netmode.disconnect('ha');
      await netmode.disconnect('hb');
      await netmode.removeNetwork('hushed');
      await setBrNf(1);
    }
  });

  // Item 10.
  it("on icc: false, a container that takes another's MAC and IP gets none of its traffic and reaches nothing", async () => {
    await netmode.createNetwork({ name: 'guarded', driver: 'bridge', subnets: [{ subnet: '10.236.10.0/24' }], options: { icc: false } });
    const a = await netmode.connect('real', 'guarded', { ports: [{ hostPort: 8095, containerPort: 80 }] });
    const b = await netmode.connect('fake', 'guarded');
    try {
      await topo.serveName(a.netns, 80, 'real');
      await topo.serveName(b.netns, 80, 'fake');
      expect((await topo.ask(topo.ext, 'tcp-ask', ADDR.host, 8095)).out).toBe('real');

      // b becomes a: its MAC, its address, a route out, and a frame to be learned by.
      await topo.run(b.netns, 'ip', 'link', 'set', 'eth0', 'address', mac(a));
      await topo.run(b.netns, 'ip', 'address', 'flush', 'dev', 'eth0');
      await topo.run(b.netns, 'ip', 'address', 'add', `${address(a)}/24`, 'dev', 'eth0');
      await topo.run(b.netns, 'ip', 'route', 'add', 'default', 'via', '10.236.10.1');
      expect(await topo.ping(b.netns, '10.236.10.1')).toBe(false);
      expect(await topo.ping(b.netns, ADDR.internet)).toBe(false);
      // The bridge never learned a's MAC on b's port.
      const learned = JSON.parse(await topo.run(host(), 'bridge', '-json', 'fdb', 'show', 'dev', hostVeth(b))) as { mac: string }[];
      expect(learned.map((entry) => entry.mac)).not.toContain(mac(a));
      expect((await topo.ask(topo.ext, 'tcp-ask', ADDR.host, 8095)).out).toBe('real');

      // Only a's address, with b's own MAC: its ARP claims and packets are dropped too.
      await topo.run(b.netns, 'ip', 'link', 'set', 'eth0', 'address', mac(b));
      expect(await topo.ping(b.netns, '10.236.10.1')).toBe(false);
      expect((await topo.ask(topo.ext, 'tcp-ask', ADDR.host, 8095)).out).toBe('real');
      expect(await topo.ping(a.netns, ADDR.internet)).toBe(true);
    } finally {
      await netmode.disconnect('real');
      await netmode.disconnect('fake');
      await netmode.removeNetwork('guarded');
    }
  });

  // Item 11.
  it('an internal network reaches no address of the host, even with a route to its gateway; other networks do', async () => {
    await netmode.createNetwork({ name: 'sealed', driver: 'bridge', internal: true, subnets: [{ subnet: '10.236.11.0/24' }] });
    await netmode.createNetwork({ name: 'open', driver: 'bridge', subnets: [{ subnet: '10.236.12.0/24' }] });
    const inside = await netmode.connect('inside', 'sealed');
    const outside = await netmode.connect('outside', 'open', { ports: [{ hostPort: 8096, containerPort: 80 }] });
    const stops = [
      await topo.serve(host(), 'tcp-serve', 7003),
      await topo.serve(host(), 'udp-serve', 7004),
      await topo.serve(outside.netns, 'tcp-serve', 80),
    ];
    try {
      await topo.run(inside.netns, 'ip', 'route', 'add', 'default', 'via', '10.236.11.1');
      // Every probe that must go unanswered at once: each waits out its own timeout.
      const unanswered = await Promise.all([
        ...[ADDR.hostSecond, '10.236.11.1', '10.236.12.1', GATEWAY].flatMap((target) => [
          topo.ask(inside.netns, 'tcp-ask', target, 7003).then((r) => [`tcp ${target}`, r.ok] as const),
          topo.ask(inside.netns, 'udp-ask', target, 7004).then((r) => [`udp ${target}`, r.ok] as const),
        ]),
        // Nor, through the DNAT, a port another network's container published.
        topo.ask(inside.netns, 'tcp-ask', ADDR.hostSecond, 8096).then((r) => [`tcp ${ADDR.hostSecond}:8096`, r.ok] as const),
      ]);
      for (const [what, answered] of unanswered) expect(answered, what).toBe(false);
      expect((await topo.ask(topo.ext, 'tcp-ask', ADDR.hostSecond, 8096)).ok).toBe(true);
      // The host may still open connections into it.
      const stopInside = await topo.serve(inside.netns, 'tcp-serve', 80);
      stops.push(stopInside);
      expect((await topo.ask(host(), 'tcp-ask', address(inside), 80)).ok).toBe(true);
      // Docker lets containers of other networks reach the host's services.
      for (const target of [ADDR.hostSecond, '10.236.12.1']) {
        expect((await topo.ask(outside.netns, 'tcp-ask', target, 7003)).ok, `tcp ${target}`).toBe(true);
        expect((await topo.ask(outside.netns, 'udp-ask', target, 7004)).ok, `udp ${target}`).toBe(true);
      }
    } finally {
      for (const stop of stops) await stop();
      await netmode.disconnect('inside');
      await netmode.disconnect('outside');
      await netmode.removeNetwork('sealed');
      await netmode.removeNetwork('open');
    }
  });

  /** Deletes, by its handle, the first rule of `chain` in netmode's table of `family` whose text contains `text`. */
  async function deleteNftRule(family: 'inet' | 'bridge', chain: string, text: string): Promise<void> {
    const listing = await topo.run(host(), 'nft', '-a', 'list', 'chain', family, 'netmode', chain);
    const line = listing.split('\n').find((l) => l.includes(text));
    const handle = /# handle (\d+)/.exec(line ?? '')?.[1];
    if (handle === undefined) throw new Error(`no rule with ${JSON.stringify(text)} in ${family} netmode ${chain}:\n${listing}`);
    await topo.run(host(), 'nft', 'delete', 'rule', family, 'netmode', chain, 'handle', handle);
  }

  /** Deletes the first rule of `chain` that `pick` selects, as `iptables -S` prints it. */
  async function deleteIptablesRule(table: string, chain: string, pick: (rule: string) => boolean): Promise<void> {
    const rules = (await topo.run(host(), 'iptables', '-t', table, '-S', chain)).split('\n');
    const rule = rules.find((r) => r.startsWith(`-A ${chain} `) && pick(r));
    if (rule === undefined) throw new Error(`no such rule in ${table} ${chain}:\n${rules.join('\n')}`);
    // netmode's comments hold no spaces, so the printed rule splits on spaces; -S quotes some of them.
    await topo.run(host(), 'iptables', '-t', table, '-D', ...rule.replaceAll('"', '').split(' ').slice(1));
  }
});
