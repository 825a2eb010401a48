import { formatPort } from '../args/port-spec.js';
import { execInContainer } from '../containers/lifecycle.js';
import type { DemoContainer, DemoContainers } from './containers.js';
import type { DemoRun } from './demo-run.js';
import { judge, readProbe, type Expectation, type PathResult, type ProbeAnswer } from './paths.js';
import { DEMO_NETWORK, type Throwaway } from './throwaway.js';
import { PROBE, WORLD } from './world.js';

/** One path to probe: how it is shown, what Docker's semantics predict, and the probe. */
type PathCheck = [Omit<PathResult, 'expected' | 'observed' | 'ms' | 'ok'>, Expectation, () => Promise<ProbeAnswer>];

/** An address without its prefix length. */
const ipOf = (started: DemoContainer) => (started.endpoint.addresses[0] ?? '').split('/')[0] as string;

/**
 * The paths the demo probes, in the order it prints them: between
 * containers, across networks, out through masquerade, in through published
 * ports, and what container:, none and host see.
 */
function pathsToProbe(run: DemoRun, place: Throwaway, { web, client, app1, app2, both }: DemoContainers): PathCheck[] {
  const { world } = place;
  const ask = async (container: string, ...probe: string[]): Promise<ProbeAnswer> => {
    run.throwIfInterrupted();
    const finished = await execInContainer(place.session, container, [process.execPath, PROBE, ...probe], 'capture');
    return readProbe(finished.stdout, finished.stderr);
  };
  const [webIp, clientIp, app1Ip, app2Ip, bothIp] = [ipOf(web), ipOf(client), ipOf(app1), ipOf(app2), ipOf(both)];
  return [
    [
      { path: 'container to container (bridge)', from: 'client', to: `web ${webIp}:80` },
      { kind: 'reach', seenAs: clientIp },
      () => ask('client', 'tcp-ask', webIp, '80'),
    ],
    [
      { path: `container to container (${DEMO_NETWORK})`, from: 'app2', to: `app1 ${app1Ip}:80` },
      { kind: 'reach', seenAs: app2Ip },
      () => ask('app2', 'tcp-ask', app1Ip, '80'),
    ],
    [
      // The name goes through app2's /etc/resolv.conf to demo-net's embedded DNS server.
      { path: `container to container by name (${DEMO_NETWORK})`, from: 'app2', to: 'app1:80' },
      { kind: 'reach', seenAs: app2Ip },
      () => ask('app2', 'tcp-ask', 'app1', '80'),
    ],
    [
      { path: 'networks are isolated', from: 'client (bridge)', to: `app1 ${app1Ip}:80 (${DEMO_NETWORK})` },
      { kind: 'blocked' },
      () => ask('client', 'tcp-ask', app1Ip, '80'),
    ],
    [
      { path: 'a container on two networks reaches the first', from: 'both (bridge + ' + DEMO_NETWORK + ')', to: `web ${webIp}:80` },
      { kind: 'reach' },
      () => ask('both', 'tcp-ask', webIp, '80'),
    ],
    [
      { path: '...and the one connected while it ran', from: 'both', to: `app1 ${app1Ip}:80 (${DEMO_NETWORK})` },
      { kind: 'reach', seenAs: bothIp },
      () => ask('both', 'tcp-ask', app1Ip, '80'),
    ],
    [
      { path: 'container to outside, TCP (masquerade)', from: 'client', to: `${WORLD.internet}:9000` },
      { kind: 'reach', seenAs: WORLD.host },
      () => ask('client', 'tcp-ask', WORLD.internet, '9000'),
    ],
    [
      { path: 'container to outside, UDP (masquerade)', from: 'client', to: `${WORLD.ext}:9000/udp` },
      { kind: 'reach', seenAs: WORLD.host },
      () => ask('client', 'udp-ask', WORLD.ext, '9000'),
    ],
    [
      { path: `${DEMO_NETWORK} to outside (masquerade)`, from: 'app2', to: `${WORLD.internet}:9000` },
      { kind: 'reach', seenAs: WORLD.host },
      () => ask('app2', 'tcp-ask', WORLD.internet, '9000'),
    ],
    [
      { path: 'outside to published port, TCP', from: 'outside', to: `${WORLD.host}:8080 -> web:80` },
      { kind: 'reach', seenAs: WORLD.ext },
      async () => readProbe(await world.askFromOutside('tcp-ask', WORLD.host, '8080')),
    ],
    [
      { path: 'outside to published port, UDP', from: 'outside', to: `${WORLD.host}:8053/udp -> web:80` },
      { kind: 'reach', seenAs: WORLD.ext },
      async () => readProbe(await world.askFromOutside('udp-ask', WORLD.host, '8053')),
    ],
    [
      { path: 'host to 127.0.0.1:port', from: 'hostbox (host mode)', to: '127.0.0.1:8080 -> web:80' },
      { kind: 'reach' },
      () => ask('hostbox', 'tcp-ask', '127.0.0.1', '8080'),
    ],
    [
      { path: 'container to published port (hairpin)', from: 'client', to: `${WORLD.host}:8080 -> web:80` },
      { kind: 'reach' },
      () => ask('client', 'tcp-ask', WORLD.host, '8080'),
    ],
    [
      { path: 'container:web over 127.0.0.1', from: 'sidecar', to: '127.0.0.1:80 (web)' },
      { kind: 'reach', seenAs: '127.0.0.1' },
      () => ask('sidecar', 'tcp-ask', '127.0.0.1', '80'),
    ],
    [
      { path: "container:web has web's network", from: 'sidecar', to: 'its interfaces' },
      {
        kind: 'ifaces',
        describe: `eth0 ${web.endpoint.addresses[0]}, as web`,
        test: (i) => (i['eth0'] ?? []).includes(web.endpoint.addresses[0] as string),
      },
      () => ask('sidecar', 'ifaces'),
    ],
    [
      { path: 'none has no route', from: 'isolated', to: `${WORLD.internet}:9000` },
      { kind: 'error', error: 'ENETUNREACH' },
      () => ask('isolated', 'tcp-ask', WORLD.internet, '9000'),
    ],
    [
      { path: 'none has only lo', from: 'isolated', to: 'its interfaces' },
      { kind: 'ifaces', describe: 'lo 127.0.0.1/8 only', test: (i) => Object.keys(i).join() === 'lo' },
      () => ask('isolated', 'ifaces'),
    ],
    [
      { path: "host sees the host's interfaces", from: 'hostbox', to: 'its interfaces' },
      { kind: 'ifaces', describe: `ext0 ${WORLD.host}/30 among them`, test: (i) => (i['ext0'] ?? []).includes(`${WORLD.host}/30`) },
      () => ask('hostbox', 'ifaces'),
    ],
  ];
}

/** Says what web publishes, then probes every path in turn and judges each against its expectation. */
export async function probeEveryPath(run: DemoRun, place: Throwaway, containers: DemoContainers): Promise<PathResult[]> {
  run.say(`\nweb publishes ${containers.web.endpoint.ports.map(formatPort).join(', ')}. Probing every path…\n`);
  const results: PathResult[] = [];
  for (const [path, expect, probe] of pathsToProbe(run, place, containers)) {
    results.push(judge(path, expect, await run.out.progress(`probing ${path.path}`, probe)));
  }
  return results;
}
