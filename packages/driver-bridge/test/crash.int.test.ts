import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createNetMode, type NetworkManager } from '@netmode/core';
import { createNetnsFixture, integrationAvailable, type HostSnapshot, type NetnsFixture } from '@netmode/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerBridgeDriver } from '../src/index.js';

const CRASH = fileURLToPath(new URL('./fixtures/crash.mjs', import.meta.url));
type Op = 'connect' | 'disconnect' | 'connectSecond' | 'disconnectSecond' | 'createNetwork' | 'removeNetwork';

const FIRST_GATEWAY = '10.234.0.1';
const SECOND_GATEWAY = '10.236.0.1';

/** Runs `op` in a child killed by SIGKILL right after step `k`; resolves whether it completed first. */
function runUntilKilled(fixture: NetnsFixture, firewall: string, op: Op, k: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const args = [CRASH, fixture.stateDir, `${fixture.prefix}host`, fixture.prefix, firewall, op, String(k)];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(false);
      else if (code === 0 && out.includes('completed')) resolve(true);
      else reject(new Error(`child ${op}@${k} exited ${code}: ${err}`));
    });
  });
}

describe.skipIf(!integrationAvailable()).each(['nftables', 'iptables'] as const)('crash consistency (%s)', (firewall) => {
  let fixture: NetnsFixture;
  let baseline: HostSnapshot;
  const make = (): NetworkManager =>
    createNetMode({
      drivers: [(c) => registerBridgeDriver(c, { firewall, bip: '10.233.0.1/24' })],
      hostNetns: fixture.hostNetns,
      stateDir: fixture.stateDir,
      namePrefix: fixture.prefix,
    });
  const connectVictim = () => make().connect('victim', 'crashnet', { ports: [{ hostPort: 8088, containerPort: 80 }] });
  const connectSecond = () => make().connect('victim', 'crashback', { gwPriority: 10, ports: [{ hostPort: 8089, containerPort: 80 }] });

  /**
   * After a kill of a connect or disconnect of the victim's second network
   * and a reconcile: the first endpoint is whole, the second whole or gone,
   * and the default route where the records say — the second network's when
   * it is there (it outranks the first), the first's otherwise.
   */
  async function expectSecondWholeOrNothing(where: string): Promise<'whole' | 'nothing'> {
    const netmode = make();
    expect((await netmode.reconcile()).failures, where).toEqual([]);
    const sandbox = await netmode.inspect('victim');
    const networks = sandbox.endpoints.map((e) => [e.network, e.status]);
    const outcome = networks.length === 2 ? 'whole' : 'nothing';
    expect(networks, where).toEqual(
      outcome === 'whole'
        ? [
            ['crashnet', 'attached'],
            ['crashback', 'attached'],
          ]
        : [['crashnet', 'attached']],
    );
    for (const endpoint of sandbox.endpoints)
      expect(await netmode.check('victim', endpoint.network), where).toEqual({ ok: true, problems: [] });
    const route = (await fixture.ip(sandbox.netns, '-4', 'route', 'show', 'default')).trim();
    expect(route, where).toBe(outcome === 'whole' ? `default via ${SECOND_GATEWAY} dev eth1` : `default via ${FIRST_GATEWAY} dev eth0`);
    expect(sandbox.defaultRoute?.network, where).toBe(outcome === 'whole' ? 'crashback' : 'crashnet');
    await netmode.disconnect('victim');
    expect(await fixture.settle(baseline), where).toEqual(baseline);
    expect((await make().reconcile()).releasedLeases, `${where}: leases left behind`).toBe(0);
    return outcome;
  }

  /** After a kill and a reconcile: the endpoint is whole, or nothing of it is left. */
  async function expectWholeOrNothing(where: string): Promise<'whole' | 'nothing'> {
    const netmode = make();
    const report = await netmode.reconcile();
    expect(report.failures, where).toEqual([]);
    const endpoints = await netmode.list();
    const outcome = endpoints.length > 0 ? 'whole' : 'nothing';
    if (outcome === 'whole') {
      expect(
        endpoints.map((e) => [e.containerId, e.status]),
        where,
      ).toEqual([['victim', 'attached']]);
      expect(await netmode.check('victim'), where).toEqual({ ok: true, problems: [] });
      await netmode.disconnect('victim');
    }
    expect(await fixture.settle(baseline), where).toEqual(baseline);
    const leases = await make().reconcile();
    expect(leases.releasedLeases, `${where}: leases left behind`).toBe(0);
    return outcome;
  }

  /** Same for networks: `crashnet2` is ready and whole, or gone with its bridge, rules and subnet. */
  async function expectNetworkWholeOrNothing(where: string): Promise<'whole' | 'nothing'> {
    const netmode = make();
    expect((await netmode.reconcile()).failures, where).toEqual([]);
    const network = (await netmode.listNetworks()).find((n) => n.name === 'crashnet2');
    if (network) {
      expect(network.status, where).toBe('ready');
      await netmode.removeNetwork('crashnet2');
    }
    expect(await fixture.settle(baseline), where).toEqual(baseline);
    expect((await make().reconcile()).releasedLeases, `${where}: subnet left behind`).toBe(0);
    return network ? 'whole' : 'nothing';
  }

  beforeAll(async () => {
    for (const rel of ['../dist/index.js', '../../core/dist/index.js']) {
      const path = fileURLToPath(new URL(rel, import.meta.url));
      if (!existsSync(path)) throw new Error(`${path} is missing: run \`pnpm build\` first`);
    }
    fixture = await createNetnsFixture();
    const netmode = make();
    // icc: false, so a connect also isolates the port (the superset of the steps).
    await netmode.createNetwork({ name: 'crashnet', driver: 'bridge', subnets: [{ subnet: '10.234.0.0/24' }], options: { icc: false } });
    await netmode.createNetwork({ name: 'crashback', driver: 'bridge', subnets: [{ subnet: '10.236.0.0/24' }], options: { icc: false } });
    // Bring the shared objects up once, so the baseline holds them.
    await connectVictim();
    await connectSecond();
    await netmode.disconnect('victim');
    baseline = await fixture.settle(await fixture.snapshot());
  });
  afterAll(async () => {
    await fixture?.cleanup();
  });

  it.each<[Op, () => Promise<unknown>, (where: string) => Promise<'whole' | 'nothing'>]>([
    ['connect', async () => undefined, (w) => expectWholeOrNothing(w)],
    ['disconnect', () => connectVictim(), (w) => expectWholeOrNothing(w)],
    ['connectSecond', () => connectVictim(), (w) => expectSecondWholeOrNothing(w)],
    ['disconnectSecond', () => connectVictim().then(connectSecond), (w) => expectSecondWholeOrNothing(w)],
    ['createNetwork', async () => undefined, (w) => expectNetworkWholeOrNothing(w)],
    [
      'removeNetwork',
      () => make().createNetwork({ name: 'crashnet2', driver: 'bridge', subnets: [{ subnet: '10.235.0.0/24' }] }),
      (w) => expectNetworkWholeOrNothing(w),
    ],
  ])(
    '%s killed after every step leaves the whole thing or nothing',
    async (op, prepare, verify) => {
      const outcomes: string[] = [];
      for (let k = 1; k < 60; k += 1) {
        await prepare();
        const completed = await runUntilKilled(fixture, firewall, op, k);
        const outcome = await verify(`${op} killed after step ${k}`);
        if (completed) {
          // k passed the last step: every kill point was covered.
          expect(k, 'a run that was never killed').toBeGreaterThan(1);
          console.info(`${firewall} ${op}: ${k - 1} kill points: ${outcomes.join(' ')}`);
          return;
        }
        outcomes.push(`${k}:${outcome}`);
      }
      throw new Error(`${op} did not complete within 59 steps`);
    },
    300_000,
  );
});
