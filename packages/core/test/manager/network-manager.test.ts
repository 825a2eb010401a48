// netmode first: it loads reflect-metadata, which tsyringe needs before it loads.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  COMMAND_RUNNER,
  ErrorCode,
  FileStateStore,
  HelperRunner,
  IPAM,
  Ipam,
  MemoryStateStore,
  NETWORK_DRIVER,
  createNetMode,
  isNetModeError,
  type DependencyContainer,
  type NetworkManager,
  type StateStore,
} from '../../src/index.js';
// Only to look into tsyringe's global container, which netmode must leave empty
// and so does not export.
import { container as globalContainer } from 'tsyringe';
import { RecordingRunner } from '../../src/testing/recording-runner.js';
import { newLog, registerFakeDriver, type FakeDriverLog } from '../support/fake-driver.js';
import { processStartTime } from '../../src/store/process-identity.js';

interface Setup {
  netmode: NetworkManager;
  runner: RecordingRunner;
  log: FakeDriverLog;
  ipam: Ipam;
  store: StateStore;
}

function setup(store: StateStore = new MemoryStateStore(), runner = new RecordingRunner()): Setup {
  const log = newLog();
  let di: DependencyContainer | undefined;
  const netmode = createNetMode({
    drivers: [(c) => registerFakeDriver(c, log)],
    runner,
    store,
    configure: (c) => (di = c),
  });
  return { netmode, runner, log, store, ipam: (di as DependencyContainer).resolve<Ipam>(IPAM) };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('createNetMode', () => {
  it('refuses to start without drivers or with a bad name prefix', () => {
    expect(() => createNetMode({ drivers: [] })).toThrow(/register at least one driver/);
    expect(() => createNetMode({ drivers: [() => undefined], namePrefix: 'Bad Prefix' })).toThrow(/namePrefix/);
    expect(() => createNetMode({ drivers: [() => undefined], hostNetns: { kind: 'named', name: 'a b' } })).toThrow(/hostNetns/);
  });

  it("checks processes, and builds the helper runner for 'helper'", () => {
    const bad = { drivers: [() => undefined], processes: 'threads' as 'helper' };
    expect(() => createNetMode(bad)).toThrow(/processes/);
    // Checked even when a runner is given, so a typo never passes silently.
    expect(() => createNetMode({ ...bad, runner: new RecordingRunner() })).toThrow(/processes/);
    let runner: unknown;
    const log = newLog();
    createNetMode({
      drivers: [(c) => registerFakeDriver(c, log)],
      processes: 'helper',
      store: new MemoryStateStore(),
      configure: (c) => {
        runner = c.resolve(COMMAND_RUNNER);
      },
    });
    expect(runner).toBeInstanceOf(HelperRunner);
  });

  it('registers nothing in the global container', () => {
    setup();
    expect(globalContainer.isRegistered(NETWORK_DRIVER, true)).toBe(false);
  });

  it('records predefined networks on first use', async () => {
    const { netmode } = setup();
    const networks = await netmode.listNetworks();
    expect(networks.map((n) => [n.name, n.driver, n.predefined, n.status])).toEqual([['fake0', 'fake', true, 'ready']]);
    expect(netmode.drivers).toEqual(['fake']);
  });
});

describe('NetworkManager.connect', () => {
  it('validates before any kernel change: unknown network, bad id, bad option, driver refusal', async () => {
    const { netmode, runner, log } = setup();
    const cases: [() => Promise<unknown>, string][] = [
      [() => netmode.connect('web', 'nosuchnet'), ErrorCode.NETWORK_NOT_FOUND],
      [() => netmode.connect('web', 'container:db'), ErrorCode.DRIVER_NOT_FOUND],
      [() => netmode.connect('we b', 'fake0'), ErrorCode.INVALID_CONFIG],
      [() => netmode.connect('web', 'fake0', { ip: '10.0.0.300' }), ErrorCode.INVALID_CONFIG],
      [() => netmode.connect('web', 'fake0', { ports: [{ containerPort: 70000 }] }), ErrorCode.INVALID_CONFIG],
      [() => netmode.connect('web', 'fake0', { mac: '03:00:00:00:00:01' }), ErrorCode.INVALID_CONFIG],
      [() => netmode.connect('web', 'fake0', { mac: '02:00:00:00:00:01' }), ErrorCode.INVALID_CONFIG],
      [() => netmode.connect('web', 'fake0', { netns: { kind: 'path', path: 'relative/ns' } }), ErrorCode.INVALID_CONFIG],
    ];
    for (const [attempt, code] of cases) expect(isNetModeError(await rejection(attempt()), code as never)).toBe(true);
    expect(runner.commands).toEqual([]);
    expect(log.attached).toEqual([]);
    expect(await netmode.list()).toEqual([]);
  });

  it('records the endpoint, emits attached, and refuses a second connect of the same container to the same network', async () => {
    const { netmode, runner } = setup();
    const attached: string[] = [];
    netmode.events.on('endpoint:attached', (e) => attached.push(e.endpoint.containerId));
    const endpoint = await netmode.connect('web', 'fake0', { labels: { app: 'shop' } });
    expect(endpoint).toMatchObject({
      id: expect.stringMatching(/^web@[0-9a-f]{12}$/),
      containerId: 'web',
      network: 'fake0',
      driver: 'fake',
      status: 'attached',
      labels: { app: 'shop' },
      netns: { kind: 'named', name: expect.stringMatching(/^nm-[0-9a-f]{8}-[0-9a-f]{16}$/) },
    });
    expect(await netmode.inspectEndpoint('web')).toEqual(endpoint);
    expect(attached).toEqual(['web']);
    expect(runner.transcript()).toMatch(/^\[host\] ip -batch -\n {2}link set dev nm-[0-9a-f]{12} up$/);
    expect(isNetModeError(await rejection(netmode.connect('web', 'fake0')), ErrorCode.ENDPOINT_EXISTS)).toBe(true);
  });

  it('refuses a concurrent connect of the same container in one process', async () => {
    const { netmode } = setup();
    const results = await Promise.allSettled([netmode.connect('web', 'fake0'), netmode.connect('web', 'fake0')]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(isNetModeError(rejected.reason, ErrorCode.BUSY)).toBe(true);
  });

  it('keeps a broken record when the driver does not say it undid everything, for disconnect to finish', async () => {
    const { netmode, log } = setup();
    const failed: boolean[] = [];
    netmode.events.on('endpoint:failed', (e) => failed.push(e.rolledBack));
    const error = await rejection(netmode.connect('web', 'fake0', { labels: { crash: 'plain-error' } }));
    expect(isNetModeError(error, ErrorCode.DRIVER_FAILED)).toBe(true);
    expect(failed).toEqual([false]);
    expect((await netmode.inspectEndpoint('web')).status).toBe('broken');
    expect(isNetModeError(await rejection(netmode.connect('web', 'fake0')), ErrorCode.ENDPOINT_EXISTS)).toBe(true);
    await netmode.disconnect('web');
    expect(log.detached).toEqual(['web']);
    expect(await netmode.list()).toEqual([]);
  });

  it('on a failed attach removes the record, releases the lease and reports rolledBack', async () => {
    const runner = new RecordingRunner().failOn((spec) => spec.args[0] === '-batch');
    const { netmode, ipam } = setup(new MemoryStateStore(), runner);
    const network = await netmode.createNetwork({ name: 'net1', driver: 'fake', subnets: [{ subnet: '10.88.0.0/24' }] });
    const failed: boolean[] = [];
    netmode.events.on('endpoint:failed', (e) => failed.push(e.rolledBack));
    const error = await rejection(netmode.connect('web', 'net1'));
    expect(isNetModeError(error, ErrorCode.COMMAND_FAILED)).toBe(true);
    expect(failed).toEqual([true]);
    expect(await netmode.list()).toEqual([]);
    expect(await ipam.listLeases(network.subnets[0]?.subnet as string)).toEqual([]);
  });

  it('keeps going when a listener throws, and reports the listener error', async () => {
    const { netmode } = setup();
    const listenerErrors: string[] = [];
    netmode.events.on('endpoint:attached', () => {
      throw new Error('listener bug');
    });
    netmode.events.on('listener:error', (e) => listenerErrors.push(`${e.event}: ${(e.error as Error).message}`));
    await netmode.connect('web', 'fake0');
    expect(listenerErrors).toEqual(['endpoint:attached: listener bug']);
    expect((await netmode.inspectEndpoint('web')).status).toBe('attached');
  });

  it('hands 50 concurrent connects distinct addresses', async () => {
    const { netmode } = setup();
    await netmode.createNetwork({ name: 'net1', driver: 'fake', subnets: [{ subnet: '10.88.0.0/24' }] });
    const endpoints = await Promise.all(Array.from({ length: 50 }, (_, i) => netmode.connect(`c${i}`, 'net1')));
    const addresses = endpoints.map((e) => e.addresses[0]);
    expect(new Set(addresses).size).toBe(50);
    expect(addresses).not.toContain('10.88.0.1/24');
    expect(addresses).not.toContain('10.88.0.0/24');
  });
});

describe('NetworkManager.disconnect', () => {
  it('is idempotent, emits detached once and releases the lease', async () => {
    const { netmode, ipam, log } = setup();
    await netmode.createNetwork({ name: 'net1', driver: 'fake', subnets: [{ subnet: '10.88.0.0/24' }] });
    await netmode.connect('web', 'net1');
    const detached: string[] = [];
    netmode.events.on('endpoint:detached', (e) => detached.push(e.endpoint.containerId));
    await netmode.disconnect('web');
    await netmode.disconnect('web');
    await netmode.disconnect('never-connected');
    expect(detached).toEqual(['web']);
    expect(log.detached).toEqual(['web']);
    expect(await ipam.listLeases('10.88.0.0/24')).toEqual([]);
    expect(isNetModeError(await rejection(netmode.inspectEndpoint('web')), ErrorCode.ENDPOINT_NOT_FOUND)).toBe(true);
  });

  it('keeps the record when teardown is incomplete, and the same process can retry', async () => {
    let failing = true;
    const runner = new RecordingRunner().failOn(
      (spec) => failing && spec.input?.includes('down') === true,
      'RTNETLINK answers: Device or resource busy',
    );
    const { netmode } = setup(new MemoryStateStore(), runner);
    await netmode.connect('web', 'fake0');
    const error = await rejection(netmode.disconnect('web'));
    expect(isNetModeError(error, ErrorCode.TEARDOWN_INCOMPLETE)).toBe(true);
    expect((await netmode.inspectEndpoint('web')).status).toBe('detaching');
    failing = false;
    await netmode.disconnect('web');
    expect(await netmode.list()).toEqual([]);
  });

  it('tears down a record left by a process that died, and refuses one a live process works on', async () => {
    const store = new MemoryStateStore();
    const { netmode, log } = setup(store);
    await netmode.connect('web', 'fake0');
    const record = await store.get<Record<string, unknown>>('endpoints/web/fake0');
    // A pid that cannot exist, then our parent (alive, with its real start time).
    await store.transaction(async (tx) =>
      tx.put('endpoints/web/fake0', { ...record, status: 'attaching', operator: { pid: 2 ** 22 + 1, start: '1' } }),
    );
    await netmode.disconnect('web');
    expect(log.detached).toEqual(['web']);

    await netmode.connect('db', 'fake0');
    const live = { pid: process.ppid, start: processStartTime(process.ppid) };
    const db = await store.get<Record<string, unknown>>('endpoints/db/fake0');
    await store.transaction(async (tx) => tx.put('endpoints/db/fake0', { ...db, status: 'detaching', operator: live }));
    expect(isNetModeError(await rejection(netmode.disconnect('db')), ErrorCode.BUSY)).toBe(true);
    expect(isNetModeError(await rejection(netmode.connect('db', 'fake0')), ErrorCode.BUSY)).toBe(true);
  });
});

describe('networks', () => {
  it('creates, lists, refuses duplicates, refuses removal while in use, then removes and frees the subnet', async () => {
    const { netmode, ipam } = setup();
    const created: string[] = [];
    netmode.events.on('network:created', (e) => created.push(e.network.name));
    const network = await netmode.createNetwork({ name: 'net1', driver: 'fake' });
    expect(network.subnets[0]?.subnet).toBe('172.17.0.0/16');
    expect(network.id).toMatch(/^[0-9a-f]{64}$/);
    expect(created).toEqual(['net1']);
    expect((await netmode.listNetworks()).map((n) => n.name)).toEqual(['fake0', 'net1']);
    expect(await netmode.inspectNetwork('net1')).toEqual(network);

    const duplicate = await rejection(netmode.createNetwork({ name: 'net1', driver: 'fake' }));
    expect(isNetModeError(duplicate, ErrorCode.NETWORK_EXISTS)).toBe(true);

    await netmode.connect('web', 'net1');
    expect(isNetModeError(await rejection(netmode.removeNetwork('net1')), ErrorCode.NETWORK_IN_USE)).toBe(true);
    await netmode.disconnect('web');
    await netmode.removeNetwork('net1');
    await netmode.removeNetwork('net1');
    expect(await ipam.listSubnets()).toEqual([]);
    expect(isNetModeError(await rejection(netmode.inspectNetwork('net1')), ErrorCode.NETWORK_NOT_FOUND)).toBe(true);
  });

  it('resetPredefinedNetwork removes an unused predefined network record, refuses one in use, and knows only predefined ones', async () => {
    const { netmode } = setup();
    // Never used: nothing recorded, nothing to remove.
    expect(await netmode.resetPredefinedNetwork('fake0')).toBe(false);
    await netmode.connect('web', 'fake0');
    const first = await netmode.inspectNetwork('fake0');
    expect(first.createdAt).not.toBe(new Date(0).toISOString());
    expect(isNetModeError(await rejection(netmode.resetPredefinedNetwork('fake0')), ErrorCode.NETWORK_IN_USE)).toBe(true);
    await netmode.disconnect('web');
    expect(await netmode.resetPredefinedNetwork('fake0')).toBe(true);
    // Shown again as before its first use, and recorded anew by the next one.
    expect((await netmode.inspectNetwork('fake0')).createdAt).toBe(new Date(0).toISOString());
    await netmode.connect('web', 'fake0');
    expect((await netmode.inspectNetwork('fake0')).status).toBe('ready');
    await netmode.createNetwork({ name: 'n1', driver: 'fake' });
    expect(isNetModeError(await rejection(netmode.resetPredefinedNetwork('n1')), ErrorCode.NETWORK_NOT_FOUND)).toBe(true);
  });

  it('refuses unknown drivers, driver-refused specs, predefined removal and overlapping subnets', async () => {
    const { netmode, runner } = setup();
    const cases: [() => Promise<unknown>, string][] = [
      [() => netmode.createNetwork({ name: 'n1', driver: 'macvlan' }), ErrorCode.DRIVER_NOT_FOUND],
      [() => netmode.createNetwork({ name: 'n 1', driver: 'fake' }), ErrorCode.INVALID_CONFIG],
      [() => netmode.createNetwork({ name: 'n1', driver: 'fake', options: { bad: 1 } }), ErrorCode.INVALID_CONFIG],
      [() => netmode.removeNetwork('fake0'), ErrorCode.NETWORK_IN_USE],
    ];
    for (const [attempt, code] of cases) expect(isNetModeError(await rejection(attempt()), code as never)).toBe(true);
    await netmode.createNetwork({ name: 'n1', driver: 'fake', subnets: [{ subnet: '10.1.0.0/16' }] });
    const overlap = await rejection(netmode.createNetwork({ name: 'n2', driver: 'fake', subnets: [{ subnet: '10.1.2.0/24' }] }));
    expect(isNetModeError(overlap, ErrorCode.SUBNET_OVERLAP)).toBe(true);
    expect((await netmode.listNetworks()).map((n) => n.name)).toEqual(['fake0', 'n1']);
    // Only reads of the host's routes (for the overlap check) ran; nothing changed the kernel.
    expect(new Set(runner.commands.map((c) => c.args.join(' ')))).toEqual(
      new Set(['-json -4 route show table all', '-json -6 route show table all']),
    );
  });
});

describe('state across managers', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a new manager on the same state directory sees every endpoint and lease', async () => {
    dir = await mkdtemp(join(tmpdir(), 'netmode-test-'));
    const first = setup(new FileStateStore(dir, { durable: false }));
    await first.netmode.createNetwork({ name: 'net1', driver: 'fake', subnets: [{ subnet: '10.88.0.0/24' }] });
    const endpoints = [];
    for (let i = 0; i < 20; i += 1) endpoints.push(await first.netmode.connect(`c${i}`, 'net1'));

    const second = setup(new FileStateStore(dir, { durable: false }));
    const byId = (a: { containerId: string }, b: { containerId: string }) => a.containerId.localeCompare(b.containerId);
    expect(await second.netmode.list()).toEqual([...endpoints].sort(byId));
    const leases = await second.ipam.listLeases('10.88.0.0/24');
    expect(leases.map((l) => `${l.address}/24`).sort()).toEqual(endpoints.map((e) => e.addresses[0]).sort());
    const next = await second.netmode.connect('c20', 'net1');
    expect(endpoints.map((e) => e.addresses[0])).not.toContain(next.addresses[0]);
    await second.netmode.disconnect('c3');
    expect((await first.netmode.list()).map((e) => e.containerId)).not.toContain('c3');
  });
});
