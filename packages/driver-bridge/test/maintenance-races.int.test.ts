import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNetMode, netnsPath, type Endpoint, type NetworkManager } from '@netmode/core';
import { createNetnsFixture, integrationAvailable, type NetnsFixture } from '@netmode/core/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registerBridgeDriver } from '../src/index.js';

// Maintenance (reconcile, gc) beside live work, each in an OS process of its
// own, as a runtime and an operator would run them: the windows between a
// decision taken outside the state lock and the act are hit by looping.

const OPERATE = fileURLToPath(new URL('./fixtures/operate.mjs', import.meta.url));
const children = new Set<ChildProcess>();

function requireBuilt(): void {
  for (const rel of ['../dist/index.js', '../../core/dist/index.js']) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (!existsSync(path)) throw new Error(`${path} is missing: run \`pnpm build\` first (child processes load the built modules)`);
  }
}

/** A child running one operation (or a loop); `stop()` closes its stdin, `done` resolves with its stdout. */
function operate(fixture: NetnsFixture, firewall: string, ...args: string[]): { done: Promise<string>; stop: () => void } {
  const child = spawn(process.execPath, [OPERATE, fixture.stateDir, `${fixture.prefix}host`, fixture.prefix, firewall, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<string>((resolve, reject) =>
    child.once('exit', (code) => {
      children.delete(child);
      if (code === 0) resolve(out);
      else reject(new Error(`${args.join(' ')} exited ${code}: ${err}`));
    }),
  );
  // A test that fails first never waits for this child; its end is not news then.
  done.catch(() => undefined);
  return { done, stop: () => child.stdin.end() };
}

describe.skipIf(!integrationAvailable()).each(['nftables', 'iptables'] as const)('maintenance beside live work (%s)', (firewall) => {
  let fixture: NetnsFixture;
  let netmode: NetworkManager;

  beforeAll(async () => {
    requireBuilt();
    fixture = await createNetnsFixture();
    netmode = createNetMode({
      drivers: [(c) => registerBridgeDriver(c, { firewall, bip: '10.236.0.1/24' })],
      hostNetns: fixture.hostNetns,
      stateDir: fixture.stateDir,
      namePrefix: fixture.prefix,
    });
    await netmode.createNetwork({ name: 'busy', driver: 'bridge', subnets: [{ subnet: '10.238.0.0/24' }] });
  });
  afterEach(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    children.clear();
  });
  afterAll(async () => {
    // Deleting every namespace with the prefix removes what a failed run left.
    await fixture?.cleanup();
  }, 120_000);

  /** What a user would check of a live endpoint: its record, sandbox, veth and address lease. */
  async function assertIntact(endpoint: Endpoint): Promise<void> {
    const record = await netmode.inspectEndpoint(endpoint.containerId);
    expect(record.status, endpoint.containerId).toBe('attached');
    expect(existsSync(netnsPath(record.netns)), `${endpoint.containerId}'s sandbox`).toBe(true);
    const veth = String(record.driverData['hostVeth']);
    expect(await fixture.ip(fixture.hostNetns, '-o', 'link', 'show', 'dev', veth), `${endpoint.containerId}'s veth`).toContain(veth);
    expect(await fixture.ip(record.netns, '-o', '-4', 'address', 'show', 'dev', 'eth0')).toContain(record.addresses[0]);
    const subnets = await readFile(join(fixture.stateDir, 'ipam', 'subnets', '4-10.238.0.0_24.json'), 'utf8');
    const leases = (JSON.parse(subnets) as { leases: Record<string, string> }).leases;
    expect(leases[(record.addresses[0] as string).split('/')[0] as string], `${endpoint.containerId}'s lease`).toBe(
      `endpoint:${record.id}`,
    );
  }

  it("reconcile's repair never puts back what a disconnect in another process removed", async () => {
    // The victim alone, so that every reconcile round meets it at once.
    const loop = operate(fixture, firewall, 'reconcile-loop');
    try {
      await operate(fixture, firewall, 'churn', 'victim', 'busy', '8090', '30', '80').done;
    } finally {
      loop.stop();
    }
    await loop.done;
    // No rule or element without a record: the victim has none now.
    const rules =
      firewall === 'nftables'
        ? (await fixture.runner.run({ command: 'nft', args: ['list', 'ruleset'], netns: fixture.hostNetns })).stdout
        : (await fixture.runner.run({ command: 'iptables-save', args: [], netns: fixture.hostNetns })).stdout;
    expect(rules).not.toMatch(/endpoint:victim/);
    // The port can be published again, to a new address.
    const next = await netmode.connect('next', 'busy', { ports: [{ hostPort: 8090, containerPort: 80 }] });
    expect(next.ports[0]?.hostPort).toBe(8090);
    await netmode.disconnect('next');
  }, 120_000);
  it('reconcile never tears down an endpoint whose connect (another process, now exited) finished while it looked', async () => {
    // Endpoints that sort before the ones under test, so that each reconcile
    // round takes long enough for its listing to go stale.
    for (let i = 0; i < 8; i += 1) await netmode.connect(`a${String(i).padStart(2, '0')}`, 'busy');
    const loop = operate(fixture, firewall, 'reconcile-loop');
    const made: Endpoint[] = [];
    try {
      // Each connect runs in a process that exits when it is done, as `run -d` does.
      for (let i = 0; i < 10; i += 1) made.push(JSON.parse(await operate(fixture, firewall, 'connect', `z${i}`, 'busy').done) as Endpoint);
    } finally {
      loop.stop();
    }
    const { rounds } = JSON.parse(await loop.done) as { rounds: number; failures: string[] };
    expect(rounds).toBeGreaterThan(0);
    for (const endpoint of made) await assertIntact(endpoint);
    const addresses = (await netmode.list()).map((e) => e.addresses[0]);
    expect(new Set(addresses).size, 'no address twice').toBe(addresses.length);
    for (const endpoint of made) await netmode.disconnect(endpoint.containerId);
  }, 120_000);
});
