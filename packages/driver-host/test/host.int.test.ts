import { stat } from 'node:fs/promises';
import { ErrorCode, createNetMode, isNetModeError, netnsPath, type NetworkManager } from '@netmode/core';
import { createNetnsFixture, integrationAvailable, type NetnsFixture } from '@netmode/core/testing';
import { testNetworkDriver } from '@netmode/core/testing/conformance';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerHostDriver } from '../src/index.js';

testNetworkDriver({
  register: registerHostDriver,
  mode: 'host',
  createsSandbox: false,
  invalidOptions: [{ ip: '10.0.0.2' }, { mac: '02:42:ac:11:00:02' }, { ifname: 'eth1' }, { netns: { kind: 'named', name: 'elsewhere' } }],
});

describe.skipIf(!integrationAvailable())('host mode on the real kernel', () => {
  let fixture: NetnsFixture;
  let netmode: NetworkManager;

  beforeAll(async () => {
    fixture = await createNetnsFixture();
    netmode = createNetMode({
      drivers: [registerHostDriver],
      hostNetns: fixture.hostNetns,
      stateDir: fixture.stateDir,
      namePrefix: fixture.prefix,
    });
  });
  afterAll(async () => {
    await fixture?.cleanup();
  });

  it('gives the host namespace itself (same inode) and creates no link', async () => {
    const before = await fixture.snapshot();
    const endpoint = await netmode.connect('web', 'host');
    const [sandbox, host, own] = await Promise.all([
      stat(netnsPath(endpoint.netns)),
      stat(netnsPath(fixture.hostNetns)),
      stat('/proc/self/ns/net'),
    ]);
    expect(sandbox.ino).toBe(host.ino);
    expect(sandbox.dev).toBe(host.dev);
    // The fixture's host namespace is not the test process's own: the test really exercised hostNetns.
    expect(sandbox.ino).not.toBe(own.ino);
    expect(endpoint).toMatchObject({ ownsNetns: false, interfaces: [], addresses: [], ports: [] });
    expect(await fixture.snapshot()).toEqual(before);
    await netmode.disconnect('web');
    expect(await fixture.snapshot()).toEqual(before);
  });

  it('discards published ports with a warning event, as Docker does', async () => {
    const warnings: string[] = [];
    netmode.events.on('warning', (w) => warnings.push(`${w.code} ${w.containerId}`));
    const endpoint = await netmode.connect('published', 'host', { ports: [{ hostPort: 8080, containerPort: 80 }] });
    expect(endpoint.ports).toEqual([]);
    expect(warnings).toEqual(['PORTS_IGNORED_IN_HOST_MODE published']);
    await netmode.disconnect('published');
  });

  it("refuses published ports with publishedPorts: 'reject'", async () => {
    const strict = createNetMode({
      drivers: [(c) => registerHostDriver(c, { publishedPorts: 'reject' })],
      hostNetns: fixture.hostNetns,
      stateDir: fixture.stateDir,
      namePrefix: fixture.prefix,
    });
    const error = await strict.connect('strict', 'host', { ports: [{ hostPort: 8080, containerPort: 80 }] }).catch((e: unknown) => e);
    expect(isNetModeError(error, ErrorCode.INVALID_CONFIG)).toBe(true);
    expect(await strict.list()).toEqual([]);
  });

  it('fails with ERR_NETNS_NOT_FOUND when the configured host namespace is gone', async () => {
    const orphan = createNetMode({
      drivers: [registerHostDriver],
      hostNetns: { kind: 'named', name: `${fixture.prefix}gone` },
      stateDir: fixture.stateDir,
      namePrefix: fixture.prefix,
    });
    const error = await orphan.connect('lost', 'host').catch((e: unknown) => e);
    expect(isNetModeError(error, ErrorCode.NETNS_NOT_FOUND)).toBe(true);
    expect(await orphan.list()).toEqual([]);
  });
});
