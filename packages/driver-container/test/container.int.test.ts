import { stat } from 'node:fs/promises';
import { ErrorCode, createNetMode, isNetModeError, netnsPath, type NetworkManager, type NetnsRef } from '@netmode/core';
import { createNetnsFixture, integrationAvailable, type HostSnapshot, type NetnsFixture } from '@netmode/core/testing';
import { registerBridgeDriver } from '@netmode/driver-bridge';
import { registerHostDriver } from '@netmode/driver-host';
import { registerNoneDriver } from '@netmode/driver-none';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerContainerDriver } from '../src/index.js';

const inode = async (ref: NetnsRef) => (await stat(netnsPath(ref))).ino;

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe.skipIf(!integrationAvailable())('container:NAME mode on the real kernel', () => {
  let fixture: NetnsFixture;
  let netmode: NetworkManager;
  let before: HostSnapshot;

  beforeAll(async () => {
    fixture = await createNetnsFixture();
    netmode = createNetMode({
      drivers: [(c) => registerBridgeDriver(c, { bip: '10.248.0.1/24' }), registerHostDriver, registerNoneDriver, registerContainerDriver],
      hostNetns: fixture.hostNetns,
      stateDir: fixture.stateDir,
      namePrefix: fixture.prefix,
    });
    // Bring the default bridge up once, so later snapshots compare like with like.
    await netmode.connect('warmup', 'bridge');
    await netmode.disconnect('warmup');
    before = await fixture.settle(await fixture.snapshot());
  });
  afterAll(async () => {
    // Deleting every namespace with the fixture's prefix removes whatever a
    // failed test left (rules included: they live in the host namespace).
    await fixture?.cleanup();
  });

  it("joins the target's sandbox: same namespace, same interfaces, nothing created", async () => {
    const web = await netmode.connect('web', 'bridge');
    const linksBefore = (await fixture.snapshot()).links;
    const side = await netmode.connect('side', 'container:web');
    expect(side.netns).toEqual(web.netns);
    expect(await inode(side.netns)).toBe(await inode(web.netns));
    expect(side.addresses).toEqual(web.addresses);
    expect(side.driverData).toEqual({ target: 'web' });
    expect((await fixture.snapshot()).links).toEqual(linksBefore);
    // The joiner sees the target's eth0, since it is the same namespace.
    const links = await fixture.ip(side.netns, '-brief', 'link', 'show');
    expect(links).toMatch(/^eth0@/m);
    // Joining a joiner joins the owner.
    const third = await netmode.connect('third', 'container:side');
    expect(third.driverData).toEqual({ target: 'web' });
    for (const id of ['third', 'side', 'web']) await netmode.disconnect(id);
    expect(await fixture.settle(before)).toEqual(before);
  });

  it('gives the host namespace when the target is in host mode', async () => {
    await netmode.connect('h', 'host');
    const joiner = await netmode.connect('hj', 'container:h');
    expect(await inode(joiner.netns)).toBe(await inode(fixture.hostNetns));
    await netmode.disconnect('hj');
    await netmode.disconnect('h');
  });

  it('refuses joining yourself, a missing target, and options a shared namespace cannot apply; nothing changes', async () => {
    await netmode.connect('target', 'none');
    const snapshot = await fixture.snapshot();
    const cases: [() => Promise<unknown>, string][] = [
      [() => netmode.connect('target2', 'container:target2'), ErrorCode.INVALID_CONFIG],
      [() => netmode.connect('ghost-joiner', 'container:ghost'), ErrorCode.ENDPOINT_NOT_FOUND],
      [() => netmode.connect('j', 'container:target', { ports: [{ hostPort: 8080, containerPort: 80 }] }), ErrorCode.INVALID_CONFIG],
      [() => netmode.connect('j', 'container:target', { ip: '10.248.0.9' }), ErrorCode.INVALID_CONFIG],
      [() => netmode.connect('j', 'container:target', { mac: '02:00:00:00:00:09' }), ErrorCode.INVALID_CONFIG],
      [() => netmode.connect('j', 'container'), ErrorCode.INVALID_CONFIG],
    ];
    for (const [index, [attempt, code]] of cases.entries()) {
      const error = await rejection(attempt());
      expect(isNetModeError(error, code as never), `case ${index}: ${String(error)}`).toBe(true);
    }
    expect(await fixture.snapshot()).toEqual(snapshot);
    expect((await netmode.list()).map((e) => e.containerId)).toEqual(['target']);
    // Joining a joiner that would lead back to yourself is refused too.
    await netmode.connect('j', 'container:target');
    expect(isNetModeError(await rejection(netmode.connect('target', 'container:j')), ErrorCode.INVALID_CONFIG)).toBe(true);
    await netmode.disconnect('j');
    await netmode.disconnect('target');
  });

  it('keeps the sandbox for joiners while the target restarts, and gives it back with the same address', async () => {
    const events: string[] = [];
    netmode.events.on('sandbox:owner-lost', (e) => events.push(`lost ${e.containerId} ${e.joiners.join(',')}`));
    netmode.events.on('sandbox:owner-regained', (e) => events.push(`regained ${e.containerId} ${e.joiners.join(',')}`));
    const db = await netmode.connect('db', 'bridge');
    await netmode.connect('sidecar', 'container:db');

    await netmode.disconnect('db');
    expect(events).toEqual(['lost db sidecar']);
    expect((await netmode.inspectEndpoint('db')).status).toBe('orphaned');
    // The joiner still has its network: the gateway answers.
    expect(await fixture.runner.run({ command: 'ping', args: ['-c', '1', '-W', '1', '10.248.0.1'], netns: db.netns })).toBeTruthy();
    // A stopped target cannot be joined.
    expect(isNetModeError(await rejection(netmode.connect('late', 'container:db')), ErrorCode.ENDPOINT_NOT_FOUND)).toBe(true);

    const again = await netmode.connect('db', 'bridge');
    expect(events).toEqual(['lost db sidecar', 'regained db sidecar']);
    expect(again.addresses).toEqual(db.addresses);
    expect(again.netns).toEqual(db.netns);
    expect(again.status).toBe('attached');

    // Target gone again, then the last joiner leaves: the sandbox goes with it.
    await netmode.disconnect('db');
    await netmode.disconnect('sidecar');
    expect(await netmode.list()).toEqual([]);
    expect(await fixture.settle(before)).toEqual(before);
  });
});
