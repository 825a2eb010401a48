import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { constants as os } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatPort } from '../args/port-spec.js';
import { ExitCode } from '../cli-error.js';
import { isProcessAlive as isAlive } from '@netmode/core';
import { Interrupted, execInContainer, removeContainer, runDetached, type RunSpec } from '../containers/lifecycle.js';
import { judge, readProbe, type Expectation, type PathResult, type ProbeAnswer } from '../demo/paths.js';
import { PROBE, WORLD, World } from '../demo/world.js';
import { formatTable } from '../output/table.js';
import { Session } from '../session.js';
import type { DemoInput } from '../declarations/demo.js';

/** One timed step of the demo, as the equivalent command line. */
interface Step {
  readonly command: string;
  readonly ms: number;
  readonly result?: string;
}

const NETWORK = 'demo-net';

/**
 * `netmode demo`: every mode at work in a throwaway world, probed path by
 * path, then removed. See `netmode demo --help`.
 */
export async function demoCommand(session: Session, { options }: DemoInput): Promise<number> {
  // The declaration's check refused firewall none.
  const firewall = session.globals.firewall ?? 'nftables';
  const json = options.json;
  const say = (text = '') => {
    if (!json) session.out.line(text);
  };

  // On a signal: let the step under way finish (so that a container being
  // started is recorded and found by the cleanup), start no other, clean up,
  // exit. Installed first, so that no moment of the demo is unguarded.
  let interrupted: NodeJS.Signals | undefined;
  let inFlight: Promise<unknown> = Promise.resolve();
  let cleanup: () => Promise<string[]> = async () => [];
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = signal;
    session.out.note(`\n${signal}: removing everything the demo made…`);
    void (async () => {
      await Promise.race([inFlight, sleep(15_000)]);
      await cleanup();
      process.exit(128 + (os.signals[signal] ?? 0));
    })();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const prefix = await World.pickPrefix();
  const world = World.of(prefix);
  const stateDir = await mkdtemp(join(tmpdir(), 'netmode-demo-'));
  const demo = await Session.open(
    { stateDir, hostNetns: `${prefix}host`, namePrefix: prefix, firewall, debug: session.globals.debug },
    session.out,
  );

  // Everything goes in `cleanup`, run once: from the finally below, or from
  // the signal handler.
  const teardown: Step[] = [];
  let cleaning: Promise<string[]> | undefined;
  cleanup = () =>
    (cleaning ??= (async () => {
      const problems: string[] = [];
      for (const record of (await demo.containers.list().catch(() => ({ records: [] }))).records) {
        const started = performance.now();
        try {
          await removeContainer(demo, record.name, { force: true });
          teardown.push({ command: `netmode rm -f ${record.name}`, ms: performance.now() - started });
        } catch (error) {
          problems.push(`container ${record.name}: ${String(error)}`);
          // Never leave a process of ours behind, even if its endpoint could not go.
          if (record.process && isAlive(record.process)) process.kill(record.process.pid, 'SIGKILL');
        }
      }
      try {
        const started = performance.now();
        const networks = await demo.netmode.listNetworks();
        if (networks.some((n) => n.name === NETWORK)) {
          await demo.netmode.removeNetwork(NETWORK);
          teardown.push({ command: `netmode network rm ${NETWORK}`, ms: performance.now() - started });
        }
      } catch (error) {
        problems.push(`network ${NETWORK}: ${String(error)}`);
      }
      const started = performance.now();
      problems.push(...(await world.destroy()));
      teardown.push({ command: `delete namespaces ${prefix}*`, ms: performance.now() - started });
      await rm(stateDir, { recursive: true, force: true });
      problems.push(...(await world.leftovers()).map((name) => `namespace ${name} is still there`));
      return problems;
    })());

  const steps: Step[] = [];
  const timed = async <T>(command: string, work: () => Promise<T>, result?: (value: T) => string): Promise<T> => {
    if (interrupted) throw new Interrupted(interrupted);
    const started = performance.now();
    const pending = session.out.progress(command, work);
    inFlight = pending.catch(() => {});
    const value = await pending;
    const step: Step = { command, ms: performance.now() - started, ...(result ? { result: result(value) } : {}) };
    steps.push(step);
    say(`$ ${command}`.padEnd(78) + ` ${step.ms.toFixed(1).padStart(7)} ms${step.result ? `  ${step.result}` : ''}`);
    return value;
  };
  const node = ['node', 'probe.js'];
  const run = (name: string, spec: Omit<RunSpec, 'name' | 'command'>, probe: string[]) => {
    const flags = [
      '-d',
      `--name ${name}`,
      ...(spec.mode === 'bridge' ? [] : [`--net ${spec.mode}`]),
      ...(spec.ports ?? []).map((p) => `-p ${p.hostPort}:${p.containerPort}${p.protocol === 'udp' ? '/udp' : ''}`),
    ];
    return timed(
      `netmode run ${flags.join(' ')} -- ${[...node, ...probe].join(' ')}`,
      () => runDetached(demo, { ...spec, name, command: [process.execPath, PROBE, ...probe] }),
      (s) =>
        spec.mode.startsWith('container:')
          ? `${spec.mode.slice('container:'.length)}'s sandbox, ${s.endpoint.addresses.join(',')}`
          : spec.mode === 'host'
            ? 'the host namespace'
            : s.endpoint.addresses.join(',') || 'lo only',
    );
  };
  const ask = async (container: string, ...probe: string[]): Promise<ProbeAnswer> => {
    if (interrupted) throw new Interrupted(interrupted);
    const finished = await execInContainer(demo, container, [process.execPath, PROBE, ...probe], 'capture');
    return readProbe(finished.stdout, finished.stderr);
  };
  const waitReady = async (name: string) => {
    const log = join(stateDir, 'cli', 'logs', `${name}.log`);
    const deadline = Date.now() + 10_000;
    while (!(existsSync(log) && readFileSync(log, 'utf8').includes('"ready"'))) {
      if (Date.now() > deadline) throw new Error(`the probe server in ${name} did not start: ${existsSync(log) ? readFileSync(log, 'utf8') : 'no output'}`);
      await sleep(20);
    }
  };

  try {
    say(`netmode demo: host namespace ${prefix}host, outside world ${prefix}ext, state in ${stateDir}, firewall ${firewall}`);
    say(`Each step is what you would type as: netmode --host-netns ${prefix}host --state-dir ${stateDir} --name-prefix ${prefix} --firewall ${firewall} …`);
    say(`probe.js is ${PROBE}\n`);
    await timed(`build the world: ${prefix}host ext0 ${WORLD.host}/30 <-> ${prefix}ext eth0 ${WORLD.ext}/30, ${WORLD.internet} on its lo`, () =>
      world.build(),
    );
    await timed(`serve TCP and UDP on 9000 in ${prefix}ext (outside, not a container)`, () => world.serveOutside(9000));
    const web = await run('web', { mode: 'bridge', ports: [{ hostPort: 8080, containerPort: 80 }, { hostPort: 8053, containerPort: 80, protocol: 'udp' }] }, ['serve', '80']);
    const client = await run('client', { mode: 'bridge' }, ['sleep']);
    // After the first bridge container: the default network reserves its
    // subnet only when it first comes up, and a network created before would
    // be handed that same subnet.
    await timed(`netmode network create ${NETWORK}`, () => demo.netmode.createNetwork({ name: NETWORK, driver: 'bridge' }), (n) =>
      n.subnets.map((s) => s.subnet).join(','),
    );
    const app1 = await run('app1', { mode: NETWORK }, ['serve', '80']);
    const app2 = await run('app2', { mode: NETWORK }, ['sleep']);
    await run('sidecar', { mode: 'container:web' }, ['sleep']);
    await run('isolated', { mode: 'none' }, ['sleep']);
    await run('hostbox', { mode: 'host' }, ['sleep']);
    await waitReady('web');
    await waitReady('app1');

    const ip = (s: { endpoint: { addresses: readonly string[] } }) => (s.endpoint.addresses[0] ?? '').split('/')[0] as string;
    const [webIp, clientIp, app1Ip, app2Ip] = [ip(web), ip(client), ip(app1), ip(app2)];
    const published = web.endpoint.ports.map(formatPort).join(', ');
    say(`\nweb publishes ${published}. Probing every path…\n`);

    const checks: [Omit<PathResult, 'expected' | 'observed' | 'ms' | 'ok'>, Expectation, () => Promise<ProbeAnswer>][] = [
      [{ path: 'container to container (bridge)', from: 'client', to: `web ${webIp}:80` }, { kind: 'reach', seenAs: clientIp }, () => ask('client', 'tcp-ask', webIp, '80')],
      [{ path: `container to container (${NETWORK})`, from: 'app2', to: `app1 ${app1Ip}:80` }, { kind: 'reach', seenAs: app2Ip }, () => ask('app2', 'tcp-ask', app1Ip, '80')],
      [{ path: 'networks are isolated', from: 'client (bridge)', to: `app1 ${app1Ip}:80 (${NETWORK})` }, { kind: 'blocked' }, () => ask('client', 'tcp-ask', app1Ip, '80')],
      [{ path: 'container to outside, TCP (masquerade)', from: 'client', to: `${WORLD.internet}:9000` }, { kind: 'reach', seenAs: WORLD.host }, () => ask('client', 'tcp-ask', WORLD.internet, '9000')],
      [{ path: 'container to outside, UDP (masquerade)', from: 'client', to: `${WORLD.ext}:9000/udp` }, { kind: 'reach', seenAs: WORLD.host }, () => ask('client', 'udp-ask', WORLD.ext, '9000')],
      [{ path: `${NETWORK} to outside (masquerade)`, from: 'app2', to: `${WORLD.internet}:9000` }, { kind: 'reach', seenAs: WORLD.host }, () => ask('app2', 'tcp-ask', WORLD.internet, '9000')],
      [{ path: 'outside to published port, TCP', from: 'outside', to: `${WORLD.host}:8080 -> web:80` }, { kind: 'reach', seenAs: WORLD.ext }, async () => readProbe(await world.askFromOutside('tcp-ask', WORLD.host, '8080'))],
      [{ path: 'outside to published port, UDP', from: 'outside', to: `${WORLD.host}:8053/udp -> web:80` }, { kind: 'reach', seenAs: WORLD.ext }, async () => readProbe(await world.askFromOutside('udp-ask', WORLD.host, '8053'))],
      [{ path: 'host to 127.0.0.1:port', from: 'hostbox (host mode)', to: '127.0.0.1:8080 -> web:80' }, { kind: 'reach' }, () => ask('hostbox', 'tcp-ask', '127.0.0.1', '8080')],
      [{ path: 'container to published port (hairpin)', from: 'client', to: `${WORLD.host}:8080 -> web:80` }, { kind: 'reach' }, () => ask('client', 'tcp-ask', WORLD.host, '8080')],
      [{ path: 'container:web over 127.0.0.1', from: 'sidecar', to: '127.0.0.1:80 (web)' }, { kind: 'reach', seenAs: '127.0.0.1' }, () => ask('sidecar', 'tcp-ask', '127.0.0.1', '80')],
      [
        { path: "container:web has web's network", from: 'sidecar', to: 'its interfaces' },
        { kind: 'ifaces', describe: `eth0 ${web.endpoint.addresses[0]}, as web`, test: (i) => (i['eth0'] ?? []).includes(web.endpoint.addresses[0] as string) },
        () => ask('sidecar', 'ifaces'),
      ],
      [{ path: 'none has no route', from: 'isolated', to: `${WORLD.internet}:9000` }, { kind: 'error', error: 'ENETUNREACH' }, () => ask('isolated', 'tcp-ask', WORLD.internet, '9000')],
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
    const results: PathResult[] = [];
    for (const [path, expect, probe] of checks) {
      results.push(judge(path, expect, await session.out.progress(`probing ${path.path}`, probe)));
    }
    const matrix = formatTable(
      ['PATH', 'FROM', 'TO', 'EXPECTED', 'OBSERVED', 'MS', ''],
      results.map((r) => [r.path, r.from, r.to, r.expected, r.observed, r.ms === null ? '-' : r.ms.toFixed(1), r.ok ? '✓' : '✗']),
    );
    say(matrix);
    say('');
    const problems = await cleanup();
    for (const step of teardown) say(`$ ${step.command}`.padEnd(78) + ` ${step.ms.toFixed(1).padStart(7)} ms`);
    const failed = results.filter((r) => !r.ok);
    if (json) {
      session.out.json({ ok: failed.length === 0 && problems.length === 0, prefix, firewall, steps, paths: results, teardown, leftovers: problems });
    } else {
      say('');
      say(problems.length === 0 ? 'Removed everything: no namespace, process or state of the demo is left.' : `Left behind: ${problems.join('; ')}`);
      say(`${results.length - failed.length} of ${results.length} paths as expected${failed.length > 0 ? `; differing: ${failed.map((r) => r.path).join('; ')}` : ''}.`);
    }
    return failed.length === 0 && problems.length === 0 ? ExitCode.OK : ExitCode.CHECK_FAILED;
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
