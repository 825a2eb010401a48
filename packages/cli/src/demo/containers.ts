import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Endpoint } from '@netmode/core';
import { runDetached, type RunSpec } from '../containers/lifecycle.js';
import { connectNetwork } from '../containers/networks.js';
import type { DemoRun } from './demo-run.js';
import { DEMO_NETWORK, type Throwaway } from './throwaway.js';
import { PROBE, WORLD } from './world.js';

/** A container of the demo: on one network, so with one endpoint. */
export interface DemoContainer {
  readonly endpoint: Endpoint;
}

/** The containers the paths are probed between (sidecar, isolated and hostbox are probed by name). */
export interface DemoContainers {
  /** The probe server on the default bridge, publishing 8080/tcp and 8053/udp. */
  readonly web: DemoContainer;
  /** A client on the default bridge. */
  readonly client: DemoContainer;
  /** The probe server on the demo's network. */
  readonly app1: DemoContainer;
  /** A client on the demo's network. */
  readonly app2: DemoContainer;
  /** A client on the default bridge, then connected to the demo's network too: its endpoint there. */
  readonly both: DemoContainer;
}

/** How a demo container is run: in one mode, with ports perhaps. */
type DemoSpec = Pick<RunSpec, 'ports'> & { readonly mode: string };

/** What the step prints after `$ netmode run …`: where the container landed. */
function landedIn(mode: string, { endpoint }: DemoContainer): string {
  if (mode.startsWith('container:')) return `${mode.slice('container:'.length)}'s sandbox, ${endpoint.addresses.join(',')}`;
  if (mode === 'host') return 'the host namespace';
  return endpoint.addresses.join(',') || 'lo only';
}

/** `netmode run -d --name NAME … -- node probe.js PROBE…`, as a timed step. */
function runProbe(run: DemoRun, place: Throwaway, name: string, spec: DemoSpec, probe: string[]): Promise<DemoContainer> {
  const flags = [
    '-d',
    `--name ${name}`,
    ...(spec.mode === 'bridge' ? [] : [`--net ${spec.mode}`]),
    ...(spec.ports ?? []).map((p) => `-p ${p.hostPort}:${p.containerPort}${p.protocol === 'udp' ? '/udp' : ''}`),
  ];
  return run.timed(
    `netmode run ${flags.join(' ')} -- ${['node', 'probe.js', ...probe].join(' ')}`,
    async () => {
      const started = await runDetached(place.session, {
        networks: [{ name: spec.mode, aliases: [] }],
        ...(spec.ports ? { ports: spec.ports } : {}),
        name,
        command: [process.execPath, PROBE, ...probe],
      });
      return { endpoint: started.endpoints[0] as Endpoint };
    },
    (started) => landedIn(spec.mode, started),
  );
}

/** Waits until the probe server in `name` printed that it listens. */
async function waitUntilServing(place: Throwaway, name: string): Promise<void> {
  const log = join(place.stateDir, 'cli', 'logs', `${name}.log`);
  const deadline = Date.now() + 10_000;
  while (!(existsSync(log) && readFileSync(log, 'utf8').includes('"ready"'))) {
    if (Date.now() > deadline)
      throw new Error(`the probe server in ${name} did not start: ${existsSync(log) ? readFileSync(log, 'utf8') : 'no output'}`);
    await sleep(20);
  }
}

/** Builds the two namespaces of the world and starts the outside server, as timed steps. */
export async function buildTheWorld(run: DemoRun, place: Throwaway): Promise<void> {
  const { prefix, world } = place;
  await run.timed(
    `build the world: ${prefix}host ext0 ${WORLD.host}/30 <-> ${prefix}ext eth0 ${WORLD.ext}/30, ${WORLD.internet} on its lo`,
    () => world.build(),
  );
  await run.timed(`serve TCP and UDP on 9000 in ${prefix}ext (outside, not a container)`, () => world.serveOutside(9000));
}

/**
 * Starts a container in every mode (two on the default bridge, two on a
 * network of the demo's own, one connected to both, container:web, none,
 * host) and waits until the two servers listen.
 */
export async function startContainersInEveryMode(run: DemoRun, place: Throwaway): Promise<DemoContainers> {
  const web = await runProbe(
    run,
    place,
    'web',
    {
      mode: 'bridge',
      ports: [
        { hostPort: 8080, containerPort: 80 },
        { hostPort: 8053, containerPort: 80, protocol: 'udp' },
      ],
    },
    ['serve', '80'],
  );
  const client = await runProbe(run, place, 'client', { mode: 'bridge' }, ['sleep']);
  // After the first bridge container: the default network reserves its
  // subnet only when it first comes up, and a network created before would
  // be handed that same subnet.
  await run.timed(
    `netmode network create ${DEMO_NETWORK}`,
    () => place.session.netmode.createNetwork({ name: DEMO_NETWORK, driver: 'bridge' }),
    (n) => n.subnets.map((s) => s.subnet).join(','),
  );
  const app1 = await runProbe(run, place, 'app1', { mode: DEMO_NETWORK }, ['serve', '80']);
  const app2 = await runProbe(run, place, 'app2', { mode: DEMO_NETWORK }, ['sleep']);
  // A container on two networks: started on the default bridge, then
  // connected to the demo's network while it runs (a new eth1 appears).
  await runProbe(run, place, 'both', { mode: 'bridge' }, ['sleep']);
  const both = await run.timed(
    `netmode network connect ${DEMO_NETWORK} both`,
    async () => ({ endpoint: await connectNetwork(place.session, 'both', DEMO_NETWORK, { aliases: [] }) }),
    ({ endpoint }) => `eth1 ${endpoint.addresses.join(',')}, beside its eth0 on bridge`,
  );
  await runProbe(run, place, 'sidecar', { mode: 'container:web' }, ['sleep']);
  await runProbe(run, place, 'isolated', { mode: 'none' }, ['sleep']);
  await runProbe(run, place, 'hostbox', { mode: 'host' }, ['sleep']);
  await waitUntilServing(place, 'web');
  await waitUntilServing(place, 'app1');
  return { web, client, app1, app2, both };
}
