import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createNetMode, type NetworkManager } from '@netmode/core';
import { createNetnsFixture, integrationAvailable, type NetnsFixture } from '@netmode/core/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registerBridgeDriver } from '../src/index.js';

const CHURN = fileURLToPath(new URL('./fixtures/churn.mjs', import.meta.url));
const children = new Set<ChildProcess>();

interface Made {
  id: string;
  address: string;
  veth: string;
  netns: string;
  hostPort: number;
}

function requireBuilt(): void {
  for (const rel of ['../dist/index.js', '../../core/dist/index.js']) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (!existsSync(path)) throw new Error(`${path} is missing: run \`pnpm build\` first (child processes load the built modules)`);
  }
}

describe.skipIf(!integrationAvailable())('concurrent processes on one state directory', () => {
  let fixture: NetnsFixture;
  let netmode: NetworkManager;

  beforeAll(async () => {
    fixture = await createNetnsFixture();
    netmode = createNetMode({
      drivers: [(c) => registerBridgeDriver(c, { bip: '10.236.0.1/24' })],
      hostNetns: fixture.hostNetns,
      stateDir: fixture.stateDir,
      namePrefix: fixture.prefix,
    });
    await netmode.createNetwork({ name: 'crowd', driver: 'bridge', subnets: [{ subnet: '10.237.0.0/20' }] });
  });
  afterEach(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    children.clear();
  });
  afterAll(async () => {
    // Deleting every namespace with the prefix removes what a failed run left;
    // the state directory goes with the fixture.
    await fixture?.cleanup();
  }, 120_000);

  it.each([
    [2, 200],
    [4, 200],
  ])(
    '%i processes connecting and disconnecting %i endpoints each never collide and lose nothing',
    async (processes, count) => {
      requireBuilt();
      const before = await fixture.snapshot();
      const runs = Array.from({ length: processes }, (_, p) => {
        const args = [CHURN, fixture.stateDir, `${fixture.prefix}host`, fixture.prefix, 'crowd', `p${p}`, String(count)];
        const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
        children.add(child);
        let out = '';
        let err = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        const listed = new Promise<Made[]>((resolve, reject) => {
          child.stdout.on('data', () => {
            const line = out.split('\n')[0];
            if (out.includes('\n') && line) resolve(JSON.parse(line) as Made[]);
          });
          child.on('exit', (code) => reject(new Error(`child ${p} exited ${code} before listing: ${err}`)));
        });
        const done = new Promise<void>((resolve, reject) =>
          child.on('exit', (code) =>
            code === 0 && out.includes('done') ? resolve() : reject(new Error(`child ${p} exited ${code}: ${err}`)),
          ),
        );
        return { child, listed, done };
      });

      // Every endpoint of every process is live at this point.
      const live = (await Promise.all(runs.map((r) => r.listed))).flat();
      expect(live).toHaveLength(processes * count);
      for (const key of ['id', 'address', 'veth', 'netns', 'hostPort'] as const) {
        expect(new Set(live.map((e) => e[key])).size, `duplicate ${key}`).toBe(live.length);
      }
      expect((await netmode.list()).map((e) => e.containerId).sort()).toEqual(live.map((e) => e.id).sort());

      for (const run of runs) run.child.stdin?.end('go\n');
      await Promise.all(runs.map((r) => r.done));
      expect(await netmode.list()).toEqual([]);
      expect(await fixture.settle(before, 5000)).toEqual(before);
    },
    300_000,
  );
});
