import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNetMode, netnsPath, type NetnsRef, type NetworkManager } from '@netmode/core';
import { registerContainerDriver } from '@netmode/driver-container';
import { createNetnsFixture, integrationAvailable, type NetnsFixture } from '@netmode/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerBridgeDriver } from '../src/index.js';

// One instance never touches another's objects, and gc never takes a
// sandbox that a container still uses.

describe.skipIf(!integrationAvailable())('ownership', () => {
  let fixture: NetnsFixture;
  let otherHost: NetnsRef;
  let otherState: string;
  const make = (hostNetns: NetnsRef, stateDir: string): NetworkManager =>
    createNetMode({
      drivers: [(c) => registerBridgeDriver(c, { bip: '10.239.0.1/24' }), registerContainerDriver],
      hostNetns,
      stateDir,
      namePrefix: fixture.prefix,
    });

  beforeAll(async () => {
    fixture = await createNetnsFixture();
    otherHost = await fixture.createNetns('hst2');
    otherState = await mkdtemp(join(tmpdir(), 'netmode-test-other-'));
  });
  afterAll(async () => {
    await rm(otherState, { recursive: true, force: true });
    await fixture?.cleanup();
  });

  it("gc of one instance never removes another's sandbox, even with the same name prefix", async () => {
    const mine = make(fixture.hostNetns, fixture.stateDir);
    const theirs = make(otherHost, otherState);
    const kept = await mine.connect('kept', 'bridge');
    const report = await theirs.gc([]);
    expect(report.removedObjects).toEqual([]);
    expect(existsSync(netnsPath(kept.netns))).toBe(true);
    expect(await mine.check('kept')).toEqual({ ok: true, problems: [] });

    // Its own strays it does remove: a sandbox named with its own tag.
    const { id } = JSON.parse(await readFile(join(otherState, 'instance.json'), 'utf8')) as { id: string };
    const stray = `${fixture.prefix}${id.slice(0, 8)}-${'0'.repeat(16)}`;
    await fixture.runner.run({ command: 'ip', args: ['netns', 'add', stray] });
    expect((await theirs.gc([])).removedObjects).toEqual([`netns ${stray}`]);
    expect(existsSync(`/run/netns/${stray}`)).toBe(false);
    expect(existsSync(netnsPath(kept.netns))).toBe(true);
    await mine.disconnect('kept');
  });

  it("gc leaves links without this instance's mark alone, whatever their name", async () => {
    const mine = make(fixture.hostNetns, fixture.stateDir);
    // A veth named like netmode's, but nobody's mark on it (another instance's, a human's).
    const lookalike = `${fixture.prefix}v0123456789`.slice(0, 15);
    await fixture.ip(fixture.hostNetns, 'link', 'add', lookalike, 'type', 'veth', 'peer', 'name', `${fixture.prefix}peer`);
    // And one marked as ours, for an endpoint that has no record.
    const marked = `${fixture.prefix}vfedcba98765`.slice(0, 15);
    const { id } = JSON.parse(await readFile(join(fixture.stateDir, 'instance.json'), 'utf8')) as { id: string };
    await fixture.ip(fixture.hostNetns, 'link', 'add', marked, 'type', 'veth', 'peer', 'name', `${fixture.prefix}peer2`);
    await fixture.ip(fixture.hostNetns, 'link', 'set', 'dev', marked, 'alias', `nm:${id}:endpoint:ghost`);
    const report = await mine.gc([]);
    expect(report.removedObjects).toEqual([`link ${marked}`]);
    expect(await fixture.ip(fixture.hostNetns, '-o', 'link', 'show', 'dev', lookalike)).toContain(lookalike);
    await fixture.ip(fixture.hostNetns, 'link', 'delete', lookalike);
  });

  it('gc keeps an orphaned sandbox for as long as a container that joined it is left', async () => {
    const netmode = make(fixture.hostNetns, fixture.stateDir);
    const owner = await netmode.connect('s1', 'bridge');
    await netmode.connect('j1', 'container:s1');
    await netmode.disconnect('s1');
    expect((await netmode.inspectEndpoint('s1')).status).toBe('orphaned');

    const report = await netmode.gc(['j1']);
    expect(report).toMatchObject({ disconnected: [], removedObjects: [], failures: [] });
    expect(existsSync(netnsPath(owner.netns))).toBe(true);
    expect(await fixture.ip(owner.netns, '-o', '-4', 'address', 'show', 'dev', 'eth0')).toContain(owner.addresses[0]);

    // The last joiner takes the sandbox with it, also when gc is what removes it.
    const last = await netmode.gc([]);
    expect(last.disconnected).toEqual(['j1']);
    expect(await netmode.list()).toEqual([]);
    expect(existsSync(netnsPath(owner.netns))).toBe(false);
  });
});
