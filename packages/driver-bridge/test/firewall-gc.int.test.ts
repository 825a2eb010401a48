import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, createNetMode, isNetModeError, type NetworkManager } from '@netmode/core';
import { createNetnsFixture, integrationAvailable, type NetnsFixture } from '@netmode/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerBridgeDriver } from '../src/index.js';

// gc() removes what no record owns in the firewall too: the rules of an
// endpoint whose record was damaged and then removed, and the shared base
// once no bridge network is recorded.

describe.skipIf(!integrationAvailable()).each(['nftables', 'iptables'] as const)('gc and the firewall (%s)', (firewall) => {
  let fixture: NetnsFixture;
  let netmode: NetworkManager;
  const rules = async () =>
    firewall === 'nftables'
      ? (await fixture.runner.run({ command: 'nft', args: ['list', 'ruleset'], netns: fixture.hostNetns })).stdout
      : (await fixture.runner.run({ command: 'iptables-save', args: [], netns: fixture.hostNetns })).stdout;

  beforeAll(async () => {
    fixture = await createNetnsFixture();
    netmode = createNetMode({
      drivers: [(c) => registerBridgeDriver(c, { bip: '10.244.0.1/24' })],
      firewall,
      hostNetns: fixture.hostNetns,
      stateDir: fixture.stateDir,
      namePrefix: fixture.prefix,
    });
  });
  afterAll(async () => {
    await fixture?.cleanup();
  });

  it('after a damaged endpoint record is removed, gc removes everything it described, its published port included', async () => {
    await netmode.createNetwork({ name: 'solo', driver: 'bridge', subnets: [{ subnet: '10.245.0.0/24' }] });
    const lost = await netmode.connect('lost', 'solo', { ports: [{ hostPort: 8097, containerPort: 80 }] });
    const record = join(fixture.stateDir, 'endpoints', 'lost', 'solo.json');
    await writeFile(record, '{}');
    // While the record is there, damaged, nothing of it is taken for stray.
    const kept = await netmode.gc([]);
    expect(kept.removedObjects).toEqual([]);
    expect(kept.failures).toEqual([expect.stringContaining(record)]);
    expect(await rules()).toMatch(/endpoint:lost/);

    // The user removes the file, as the error's hint says; gc removes the rest.
    await rm(record);
    const report = await netmode.gc([]);
    expect(report.removedObjects).toEqual(
      expect.arrayContaining([`netns ${String((lost.netns as { name: string }).name)}`, `${firewall} rules of endpoint:${lost.id}`]),
    );
    // The host end went with the namespace (or, if the kernel had not removed it yet, by its mark).
    const veth = String(lost.driverData['hostVeth']);
    const links = async () => (await fixture.ip(fixture.hostNetns, '-o', 'link', 'show')).includes(veth);
    for (const deadline = Date.now() + 2000; (await links()) && Date.now() < deadline;) await sleep(20);
    expect(await links()).toBe(false);
    expect(report.releasedLeases).toBe(2);
    expect(await rules()).not.toMatch(/endpoint:lost/);
    // Its address and port are free again.
    const next = await netmode.connect('next', 'solo', {
      ports: [{ hostPort: 8097, containerPort: 80 }],
      ip: (lost.addresses[0] as string).split('/')[0] as string,
    });
    expect(next.ports[0]?.hostPort).toBe(8097);
    await netmode.disconnect('next');
  });

  it('removes the shared base once no bridge network is recorded, and nothing while one is', async () => {
    const whileUsed = await netmode.gc([]);
    expect(whileUsed.removedObjects).toEqual([]);
    expect(await rules()).toMatch(firewall === 'nftables' ? /table inet netmode/ : /NETMODE-FORWARD/);
    await netmode.removeNetwork('solo');
    const report = await netmode.gc([]);
    expect(report.removedObjects).toContain(`${firewall} base`);
    expect(await rules()).not.toMatch(/netmode|NETMODE/);
    // A network made afterwards gets its base back.
    await netmode.createNetwork({ name: 'again', driver: 'bridge', subnets: [{ subnet: '10.245.1.0/24' }] });
    await netmode.connect('back', 'again', { ports: [{ hostPort: 8098, containerPort: 80 }] });
    expect(await rules()).toMatch(/endpoint:back/);
    await netmode.disconnect('back');
    await netmode.removeNetwork('again');
    expect(isNetModeError(await netmode.inspectNetwork('again').catch((e: unknown) => e), ErrorCode.NETWORK_NOT_FOUND)).toBe(true);
  });
});
