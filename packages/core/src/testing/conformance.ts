/**
 * `@netmode/core/testing/conformance`: the conformance suite every driver
 * runs, {@link testNetworkDriver}. It is a set of vitest tests, so this entry
 * imports `vitest` (a peer dependency: install it as a dev dependency). The
 * runner-independent kit (a recording runner, the namespace fixture) is
 * `@netmode/core/testing`, which loads no test runner.
 *
 * @module
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetMode, type DriverRegistration, type NetModeOptions } from '../create.js';
import { ErrorCode, isNetModeError } from '../errors.js';
import type { NetModeEvents } from '../events.js';
import { ExecaRunner } from '../exec/execa-runner.js';
import type { CommandRunner } from '../exec/runner.js';
import type { NetworkManager } from '../manager/network-manager.js';
import type { ConnectOptions, Endpoint } from '../model/endpoint.js';
import type { NetworkSpec } from '../model/network.js';
import { FileStateStore } from '../store/file-store.js';
import { MemoryStateStore } from '../store/memory-store.js';
import { UnreadableRecord } from '../store/state-store.js';
import { CountingRunner, FaultInjectingRunner, type FaultTiming } from './fault-runner.js';
import { createNetnsFixture, integrationAvailable, type NetnsFixture } from './netns-fixture.js';
import { RecordingRunner } from './recording-runner.js';

/** What {@link testNetworkDriver} needs to know about the driver under test. */
export interface DriverConformanceOptions {
  /** The title of the test group; default `driver conformance: MODE`. */
  readonly title?: string;
  /** Registers the driver under test, and any driver it depends on. */
  readonly register: DriverRegistration | readonly DriverRegistration[];
  /**
   * The mode string to connect with (`none`, `host`, …). When `network` is
   * given, the real-kernel tests create that network and connect to it by
   * name; `mode` (a predefined network) then serves the refusal test, which
   * runs without a kernel. At least one of the two is required.
   */
  readonly mode?: string;
  /** A network to create (name chosen by the suite) for drivers of user-defined networks. */
  readonly network?: Omit<NetworkSpec, 'name'>;
  /**
   * A second network of the driver (another subnet), for drivers that are
   * not a whole sandbox: the suite then also connects one container to both
   * networks — one sandbox, two interfaces, each endpoint whole — and
   * disconnects them one at a time.
   */
  readonly secondNetwork?: Omit<NetworkSpec, 'name'>;
  /** Options for the successful connects. */
  readonly connectOptions?: ConnectOptions;
  /** Connect options the driver must refuse with ERR_INVALID_CONFIG, changing nothing. At least one. */
  readonly invalidOptions: readonly ConnectOptions[];
  /**
   * Whether attach creates a sandbox that detach removes (bridge, none):
   * then the suite also checks the sandbox exists after connect and is gone
   * after disconnect. `host` and `container:` share an existing one.
   */
  readonly createsSandbox: boolean;
  /**
   * Prepares the fixture's host namespace for the real-kernel tests, before
   * the network is created and the "before" snapshot is taken: for drivers
   * whose networks need host objects they do not make themselves, such as the
   * parent link of a macvlan network. Whatever it makes is removed with the fixture.
   */
  readonly prepareHost?: (fixture: NetnsFixture) => Promise<void>;
  /**
   * More options for every netmode instance the suite makes: a firewall
   * backend to run the driver on (`{ firewalls: [registerX], firewall: 'x' }`),
   * address pools, … (`drivers`, `runner`, `store`, `stateDir`, `hostNetns`
   * and `namePrefix` are the suite's).
   */
  readonly netmode?: Omit<NetModeOptions, 'drivers' | 'runner' | 'store' | 'stateDir' | 'hostNetns' | 'namePrefix'>;
}

/**
 * The conformance suite every driver runs, ours and third parties': call it
 * at the top level of a vitest test file. It checks, against the real kernel
 * in throwaway namespaces (root required; in CI it must run):
 *
 * - invalid options are refused before any command runs or any record is written;
 * - connect returns a well-formed endpoint whose sandbox exists, and `check()` agrees;
 * - disconnect leaves the host namespace, the namespace list and the
 *   records as they were — no address or port lease, endpoint record or
 *   joiner left, under any owner — and a second disconnect is a no-op;
 * - every lease an endpoint holds while connected is under its own owner
 *   (`endpointOwner(endpoint.id)`), so disconnect can release it;
 * - two endpoints connected at once both work and both go, so nothing the
 *   driver makes has a fixed name or is shared without counting;
 * - with `secondNetwork`, one container on two networks of the driver: its
 *   second endpoint is placed in the same sandbox under its own interface,
 *   names nothing after the container alone, and each disconnect leaves the
 *   other endpoint whole;
 * - a failure of any single command of an attach, before or after it takes
 *   effect, rolls everything back: nothing is left and the failure is reported
 *   (or, where the driver retried the step and succeeded, the endpoint is whole);
 * - the lifecycle events are emitted;
 * - a second manager on the same state directory sees the endpoint and can
 *   disconnect it.
 */
export function testNetworkDriver(options: DriverConformanceOptions): void {
  const registrations = typeof options.register === 'function' ? [options.register] : [...options.register];
  const title = options.title ?? `driver conformance: ${options.network?.driver ?? options.mode}`;

  describe(title, () => {
    it('refuses invalid options before any command runs or any record is written', async () => {
      expect(options.invalidOptions.length).toBeGreaterThan(0);
      const runner = new RecordingRunner();
      const store = new MemoryStateStore();
      const netmode = createNetMode({ ...options.netmode, drivers: registrations, runner, store });
      const mode = options.mode ?? (await createTestNetwork(netmode));
      runner.clear();
      for (const invalid of options.invalidOptions) {
        const error = await netmode.connect('conformance-bad', mode, invalid).catch((e: unknown) => e);
        expect(isNetModeError(error, ErrorCode.INVALID_CONFIG), `options ${JSON.stringify(invalid)}`).toBe(true);
      }
      expect(runner.commands).toEqual([]);
      expect(await netmode.list()).toEqual([]);
    });

    const root = integrationAvailable();
    describe.skipIf(!root)('on the real kernel', () => {
      let fixture: NetnsFixture;
      let mode: string;
      let before: Awaited<ReturnType<NetnsFixture['snapshot']>>;
      let beforeState: StateSummary;

      const make = (runner?: CommandRunner): NetworkManager =>
        createNetMode({
          ...options.netmode,
          drivers: registrations,
          hostNetns: fixture.hostNetns,
          stateDir: fixture.stateDir,
          namePrefix: fixture.prefix,
          ...(runner ? { runner } : {}),
        });

      beforeAll(async () => {
        fixture = await createNetnsFixture();
        await options.prepareHost?.(fixture);
        mode = options.network ? await createTestNetwork(make()) : (options.mode as string);
        before = await fixture.snapshot();
        beforeState = await summarizeState(fixture.stateDir);
      });
      /** The host and the records are as they were before the first connect. */
      const expectNothingLeft = async (where: string) => {
        expect(await fixture.settle(before), where).toEqual(before);
        expect(await summarizeState(fixture.stateDir), where).toEqual(beforeState);
      };
      afterAll(async () => {
        await fixture?.cleanup();
      });

      it('connects, checks and disconnects, leaving nothing behind', async () => {
        const netmode = make();
        const seen: (keyof NetModeEvents)[] = [];
        netmode.events.on('endpoint:attached', () => seen.push('endpoint:attached'));
        netmode.events.on('endpoint:detached', () => seen.push('endpoint:detached'));
        let commands = 0;
        netmode.events.on('command:exec', () => (commands += 1));

        const endpoint = await netmode.connect('conformance-a', mode, options.connectOptions);
        expectWellFormed(endpoint, mode);
        // Every lease it took is under its own owner, or disconnect could not release it.
        const held = await summarizeState(fixture.stateDir);
        const owners = new Set([...beforeState.leases, ...beforeState.ports].map((l) => l.split(' ')[0]));
        for (const lease of [...held.leases, ...held.ports]) {
          const owner = lease.split(' ')[0] as string;
          if (!owners.has(owner)) expect(owner, `lease ${lease}`).toBe(`endpoint:${endpoint.id}`);
        }
        expect(await fixture.runner.run({ command: 'ip', args: ['link', 'show', 'lo'], netns: endpoint.netns })).toBeTruthy();
        expect(await netmode.check('conformance-a')).toEqual({ ok: true, problems: [] });
        expect(await netmode.inspectEndpoint('conformance-a')).toEqual(endpoint);
        if (options.createsSandbox) expect(endpoint.ownsNetns).toBe(true);

        await netmode.disconnect('conformance-a');
        await netmode.disconnect('conformance-a');
        expect(await netmode.list()).toEqual([]);
        await expectNothingLeft('after disconnect');
        expect(seen).toEqual(['endpoint:attached', 'endpoint:detached']);
        // A driver that creates a sandbox must have run commands, and every one is reported.
        if (options.createsSandbox) expect(commands).toBeGreaterThan(0);
      });

      it('a second manager on the same state directory sees the endpoint and disconnects it', async () => {
        const endpoint = await make().connect('conformance-b', mode, options.connectOptions);
        const other = make();
        expect(await other.inspectEndpoint('conformance-b')).toEqual(endpoint);
        const error = await other.connect('conformance-b', mode, options.connectOptions).catch((e: unknown) => e);
        expect(isNetModeError(error, ErrorCode.ENDPOINT_EXISTS)).toBe(true);
        await other.disconnect('conformance-b');
        await expectNothingLeft('after the second manager disconnected');
      });

      it('holds two endpoints connected at once, each whole, and removes both', async () => {
        const netmode = make();
        // What only one endpoint can have (a static address or MAC, a fixed host port) is left to each to choose.
        const shared = concurrentOptions(options.connectOptions);
        try {
          const [d1, d2] = await Promise.all([
            netmode.connect('conformance-d1', mode, shared),
            netmode.connect('conformance-d2', mode, shared),
          ]);
          for (const endpoint of [d1, d2]) {
            expectWellFormed(endpoint, mode);
            expect(await netmode.check(endpoint.containerId), endpoint.containerId).toEqual({ ok: true, problems: [] });
          }
          if (options.createsSandbox) {
            expect(d1.netns, 'two sandboxes').not.toEqual(d2.netns);
            const hostSide = (e: Endpoint) => e.interfaces.filter((i) => i.side === 'host').map((i) => i.name);
            for (const name of hostSide(d1)) expect(hostSide(d2), `host interface ${name} is not shared`).not.toContain(name);
          }
          for (const address of d1.addresses) expect(d2.addresses, `address ${address} twice`).not.toContain(address);
          // The first one's disconnect leaves the second one whole.
          await netmode.disconnect('conformance-d1');
          expect(await netmode.check('conformance-d2')).toEqual({ ok: true, problems: [] });
        } finally {
          // Whatever failed, the next tests start from nothing.
          await Promise.allSettled([netmode.disconnect('conformance-d1'), netmode.disconnect('conformance-d2')]);
        }
        expect(await netmode.list()).toEqual([]);
        await expectNothingLeft('after both disconnected');
      });

      // Only for drivers that say they combine: no test is skipped for the others.
      if (options.secondNetwork) {
        it('holds one container on two networks: one sandbox, one interface each, removed one at a time', async () => {
          const netmode = make();
          const second = 'conformance-net2';
          await netmode.createNetwork({ ...(options.secondNetwork as Omit<NetworkSpec, 'name'>), name: second });
          const shared = concurrentOptions(options.connectOptions);
          try {
            const first = await netmode.connect('conformance-m', mode, shared);
            const other = await netmode.connect('conformance-m', second, shared);
            expectWellFormed(other, second);
            expect(other.netns, 'the same sandbox').toEqual(first.netns);
            expect(other.id, 'an endpoint id of its own').not.toBe(first.id);
            const inside = (e: Endpoint) => e.interfaces.filter((i) => i.side === 'sandbox').map((i) => i.name);
            expect(inside(first)).toEqual(['eth0']);
            expect(inside(other)).toEqual(['eth1']);
            for (const network of [mode, second])
              expect(await netmode.check('conformance-m', network), network).toEqual({ ok: true, problems: [] });
            // The first one goes: the second keeps the sandbox and stays whole.
            await netmode.disconnect('conformance-m', mode);
            expect(await netmode.check('conformance-m', second)).toEqual({ ok: true, problems: [] });
            expect((await netmode.inspectEndpoint('conformance-m')).ownsNetns).toBe(options.createsSandbox);
            await netmode.disconnect('conformance-m', second);
          } finally {
            await netmode.disconnect('conformance-m').catch(() => undefined);
            await netmode.removeNetwork(second).catch(() => undefined);
          }
          expect(await netmode.list()).toEqual([]);
          await expectNothingLeft('after both networks were disconnected');
        });
      }

      it('rolls back when any single command of an attach fails, before or after it takes effect', async () => {
        const counter = new CountingRunner(new ExecaRunner());
        const probe = make(counter);
        await probe.connect('conformance-c', mode, options.connectOptions);
        const steps = counter.count;
        await probe.disconnect('conformance-c');
        // With no command there is no step to fail (host mode); otherwise fail each in turn.
        if (options.createsSandbox) expect(steps).toBeGreaterThan(0);

        for (const timing of ['before', 'after'] as FaultTiming[]) {
          for (let k = 1; k <= steps; k += 1) {
            const netmode = make(new FaultInjectingRunner(new ExecaRunner(), k, timing));
            const failures: boolean[] = [];
            netmode.events.on('endpoint:failed', (e) => failures.push(e.rolledBack));
            const outcome = await netmode.connect('conformance-c', mode, options.connectOptions).then(
              (endpoint) => ({ endpoint }),
              (error: unknown) => ({ error }),
            );
            const where = `command ${k} of ${steps} failing ${timing}`;
            if ('endpoint' in outcome) {
              // A driver may retry a failed step and succeed; then the result must be whole.
              expect(await netmode.check('conformance-c'), where).toEqual({ ok: true, problems: [] });
              await netmode.disconnect('conformance-c');
            } else {
              expect(isNetModeError(outcome.error), where).toBe(true);
              expect(failures, where).toEqual([true]);
            }
            expect(await netmode.list(), where).toEqual([]);
            await expectNothingLeft(where);
          }
        }
      });
    });
  });

  async function createTestNetwork(netmode: NetworkManager): Promise<string> {
    const name = 'conformance-net';
    await netmode.createNetwork({ ...(options.network as Omit<NetworkSpec, 'name'>), name });
    return name;
  }
}

/**
 * The connect options for two endpoints at once: without what only one of
 * them can have (a static address, a static MAC, a fixed host port).
 */
function concurrentOptions(connect: ConnectOptions | undefined): ConnectOptions | undefined {
  if (connect === undefined) return undefined;
  const { ip: _ip, mac: _mac, ports, ...rest } = connect;
  return { ...rest, ...(ports === undefined ? {} : { ports: ports.map((port) => ({ ...port, hostPort: 0 })) }) };
}

/**
 * What the records say is held, in a form to compare: `OWNER SUBNET ADDRESS`
 * per address lease, `OWNER PROTO PORT` per port lease, the keys of endpoint
 * and joiner records. Round-robin pointers and network records are left
 * out: they may change without anything being held.
 */
interface StateSummary {
  readonly leases: readonly string[];
  readonly ports: readonly string[];
  readonly records: readonly string[];
}

async function summarizeState(stateDir: string): Promise<StateSummary> {
  const store = new FileStateStore(stateDir);
  const leases: string[] = [];
  for (const { value } of await store.list<{ subnet: string; leases?: Record<string, string> }>('ipam/subnets')) {
    if (value instanceof UnreadableRecord) throw new Error(`unreadable state record ${value.location}`);
    for (const [address, owner] of Object.entries(value.leases ?? {})) leases.push(`${owner} ${value.subnet} ${address}`);
  }
  const ports: string[] = [];
  for (const { value } of await store.list<{ leases?: { owner: string; protocol: string; hostPort: number }[] }>('ports')) {
    if (value instanceof UnreadableRecord) throw new Error(`unreadable state record ${value.location}`);
    for (const lease of value.leases ?? []) ports.push(`${lease.owner} ${lease.protocol} ${lease.hostPort}`);
  }
  const records = [...(await store.list('endpoints')), ...(await store.list('joiners'))].map((e) => e.key);
  return { leases: leases.sort(), ports: ports.sort(), records: records.sort() };
}

function expectWellFormed(endpoint: Endpoint, network: string): void {
  expect(endpoint.status).toBe('attached');
  expect(endpoint.id.startsWith(`${endpoint.containerId}@`)).toBe(true);
  expect(endpoint.id).toMatch(/@[0-9a-f]{12}$/);
  expect(endpoint.network).toBe(network);
  expect(endpoint.networkId).toMatch(/^[0-9a-f]{64}$/);
  expect(Number.isNaN(Date.parse(endpoint.createdAt))).toBe(false);
  for (const address of endpoint.addresses) expect(address).toMatch(/\/\d+$/);
}
