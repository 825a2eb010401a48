import { createNetMode, netnsPath, type NetworkManager, type ReconcileReport } from '@netmode/core';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { integrationAvailable, type HostSnapshot } from '@netmode/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerBridgeDriver } from '../src/index.js';
import { ADDR, createTopology, type Topology } from './support/topology.js';

const flushes = {
  nftables: [['nft', 'flush', 'ruleset']],
  iptables: [
    ['iptables', '-F'],
    ['iptables', '-t', 'nat', '-F'],
    ['iptables', '-t', 'raw', '-F'],
  ],
} as const;

describe.skipIf(!integrationAvailable()).each(['nftables', 'iptables'] as const)('reconcile and gc (%s)', (firewall) => {
  let topo: Topology;
  let netmode: NetworkManager;
  const make = () =>
    createNetMode({
      drivers: [(c) => registerBridgeDriver(c, { firewall, bip: '10.249.0.1/24' })],
      hostNetns: topo.fixture.hostNetns,
      stateDir: topo.fixture.stateDir,
      namePrefix: topo.fixture.prefix,
    });

  beforeAll(async () => {
    topo = await createTopology();
    netmode = make();
  });
  afterAll(async () => {
    // Deleting every namespace with the fixture's prefix removes whatever a
    // failed test left (rules included: they live in the host namespace).
    await topo?.cleanup();
  });

  it('repairs nothing and emits no event when everything is whole (a healthy start-up)', async () => {
    await netmode.createNetwork({ name: 'calm', driver: 'bridge', subnets: [{ subnet: '10.249.7.0/24' }] });
    await netmode.connect('steady', 'bridge', {
      ports: [
        { hostPort: 8081, containerPort: 80 },
        { hostPort: 5354, containerPort: 53, protocol: 'udp' },
      ],
    });
    await netmode.connect('steady', 'calm');
    try {
      // A new manager, as after a restart of the runtime.
      const restarted = make();
      const events: ReconcileReport[] = [];
      restarted.events.on('reconcile:repaired', (e) => events.push(e.report));
      expect(await restarted.reconcile()).toEqual({
        finished: [],
        lost: [],
        broken: [],
        repaired: [],
        restoredLeases: 0,
        releasedLeases: 0,
        failures: [],
      });
      expect(events).toEqual([]);
    } finally {
      await netmode.disconnect('steady');
      await netmode.removeNetwork('calm');
    }
  });

  it('restores rules flushed by someone else, and the published port works again', async () => {
    const web = await netmode.connect('web', 'bridge', { ports: [{ hostPort: 8080, containerPort: 80 }] });
    const stopServer = await topo.serve(web.netns, 'tcp-serve', 80);
    expect((await topo.ask(topo.ext, 'tcp-ask', ADDR.host, 8080)).ok).toBe(true);
    for (const [command, ...args] of flushes[firewall]) await topo.run(topo.fixture.hostNetns, command, ...args);
    expect((await topo.ask(topo.ext, 'tcp-ask', ADDR.host, 8080)).ok).toBe(false);

    // A new manager, as after a restart of the runtime.
    const report = await make().reconcile();
    expect(report).toMatchObject({ repaired: ['web'], broken: [], lost: [], failures: [] });
    expect((await topo.ask(topo.ext, 'tcp-ask', ADDR.host, 8080)).ok).toBe(true);
    expect(await topo.ping(web.netns, ADDR.internet)).toBe(true);
    await stopServer();
    await netmode.disconnect('web');
  });

  it('restores the isolation of icc: false ports after their table was deleted', async () => {
    await netmode.createNetwork({ name: 'quiet', driver: 'bridge', subnets: [{ subnet: '10.248.0.0/24' }], options: { icc: false } });
    const a = await netmode.connect('qa', 'quiet');
    const veth = a.interfaces.find((i) => i.side === 'host')?.name as string;
    const isolated = () => topo.run(topo.fixture.hostNetns, 'nft', 'list', 'set', 'bridge', 'netmode', 'isolated_ports');
    expect(await isolated()).toContain(`"${veth}" comment "endpoint:${a.id}"`);
    await topo.run(topo.fixture.hostNetns, 'nft', 'delete', 'table', 'bridge', 'netmode');

    const report = await make().reconcile();
    expect(report.repaired).toContain('qa');
    expect(await isolated()).toContain(`"${veth}" comment "endpoint:${a.id}"`);
    await netmode.disconnect('qa');
    expect(await isolated()).not.toContain('endpoint:qa');
    await netmode.removeNetwork('quiet');
  });

  it('marks an endpoint broken when its link was removed by hand, and disconnect cleans up', async () => {
    const c = await netmode.connect('cut', 'bridge');
    const seen: string[] = [];
    const fresh = make();
    fresh.events.on('endpoint:broken', (e) => seen.push(`${e.endpoint.containerId}: ${e.problems.join('; ')}`));
    await topo.run(c.netns, 'ip', 'link', 'delete', 'eth0');
    const report = await fresh.reconcile();
    expect(report.broken).toEqual(['cut']);
    expect(seen).toEqual([expect.stringMatching(/^cut: interface eth0 is missing/)]);
    expect((await fresh.inspectEndpoint('cut')).status).toBe('broken');
    await fresh.disconnect('cut');
    expect(await fresh.list()).toEqual([]);
  });

  it('tears down endpoints whose sandbox vanished (as after a reboot) and releases their leases', async () => {
    const gone = await netmode.connect('gone', 'bridge', { ports: [{ hostPort: 8081, containerPort: 80 }] });
    await topo.run(topo.fixture.hostNetns, 'ip', 'netns', 'delete', netnsPath(gone.netns).split('/').pop() as string);
    const report: ReconcileReport = await make().reconcile();
    expect(report.lost).toEqual(['gone']);
    expect(await netmode.list()).toEqual([]);
    // Its address and port are free again.
    const next = await netmode.connect('next', 'bridge', {
      ports: [{ hostPort: 8081, containerPort: 80 }],
      ip: gone.addresses[0]?.split('/')[0] as string,
    });
    expect(next.addresses).toEqual(gone.addresses);
    await netmode.disconnect('next');
  });

  it("gc disconnects endpoints not listed and removes stray objects proven to be this instance's", async () => {
    // No endpoint exists now: let the kernel finish removing the previous tests' pairs first.
    const lingering = (snapshot: HostSnapshot) =>
      (snapshot.links as { name: string }[]).some((link) => link.name.startsWith(`${topo.fixture.prefix}v`));
    let before = await topo.fixture.snapshot();
    for (const deadline = Date.now() + 2000; lingering(before) && Date.now() < deadline;) {
      await sleep(20);
      before = await topo.fixture.snapshot();
    }
    await netmode.connect('keep', 'bridge');
    await netmode.connect('drop', 'bridge');
    // A stray sandbox and a stray veth of this instance (its tag in the
    // name, its mark as the alias), as a crash between kernel and state would leave.
    const { id } = JSON.parse(await readFile(join(topo.fixture.stateDir, 'instance.json'), 'utf8')) as { id: string };
    const straySandbox = `${topo.fixture.prefix}${id.slice(0, 8)}-${'a'.repeat(16)}`;
    const strayVeth = `${topo.fixture.prefix}v012345678`;
    await topo.run(topo.fixture.hostNetns, 'ip', 'netns', 'add', straySandbox);
    await topo.run(topo.fixture.hostNetns, 'ip', 'link', 'add', strayVeth, 'type', 'veth', 'peer', 'name', `${topo.fixture.prefix}x`);
    await topo.run(topo.fixture.hostNetns, 'ip', 'link', 'set', 'dev', strayVeth, 'alias', `nm:${id}:endpoint:crashed`);
    const report = await netmode.gc(['keep']);
    expect(report.disconnected).toEqual(['drop']);
    expect(report.removedObjects).toEqual(expect.arrayContaining([`link ${strayVeth}`, `netns ${straySandbox}`]));
    // Anything else removed is the host end of 'drop', which the kernel may
    // still be removing after its namespace went; never anything of 'keep'.
    const keep = await netmode.inspectEndpoint('keep');
    const keepVeth = String(keep.driverData['hostVeth']);
    expect(report.removedObjects.every((o) => !o.includes(keepVeth) && !o.includes(JSON.stringify(keep.netns)))).toBe(true);
    expect(report.removedObjects.length).toBeLessThanOrEqual(3);
    expect(report.failures).toEqual([]);
    expect((await netmode.list()).map((e) => e.containerId)).toEqual(['keep']);
    await netmode.disconnect('keep');
    expect(await topo.fixture.settle(before)).toEqual(before);
  });
});
