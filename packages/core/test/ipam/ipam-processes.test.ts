import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreIpam } from '../../src/ipam/ipam.js';
import { FileStateStore } from '../../src/store/file-store.js';
import { killChildren, requireBuilt, runTogether } from '../support/children.js';

const ALLOCATE = fileURLToPath(new URL('./fixtures/allocate.mjs', import.meta.url));
let dir: string | undefined;

afterEach(async () => {
  killChildren();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('IPAM across OS processes', () => {
  it.each([
    [2, 200],
    [4, 100],
  ])('%i processes allocating %i addresses each at once never collide', async (processes, perChild) => {
    requireBuilt('index', 'ipam/ipam', 'ipam/ipam-transaction', 'store/file-store', 'store/file-lock');
    dir = await mkdtemp(join(tmpdir(), 'netmode-test-'));
    const ipam = new StoreIpam(new FileStateStore(dir));
    await ipam.allocateSubnet('network:test', { subnet: '10.77.0.0/22' });

    const outputs = await runTogether(
      ALLOCATE,
      Array.from({ length: processes }, (_, p) => [dir as string, '10.77.0.0/22', `p${p}`, String(perChild)]),
    );
    const perProcess = outputs.map((out) => JSON.parse(out.trim().split('\n').pop() as string) as string[]);
    const all = perProcess.flat();
    expect(perProcess.every((list) => list.length === perChild)).toBe(true);
    expect(new Set(all).size).toBe(processes * perChild);
    expect(all).not.toContain('10.77.0.0');
    expect(all).not.toContain('10.77.0.1');
    expect(all).not.toContain('10.77.3.255');

    // The store holds exactly those leases, each with the owner that took it.
    const leases = await ipam.listLeases('10.77.0.0/22');
    expect(leases.map((l) => l.address).sort()).toEqual([...all].sort());
    perProcess.forEach((list, p) =>
      list.forEach((address, i) => expect(leases.find((l) => l.address === address)?.owner).toBe(`p${p}-${i}`)),
    );
  });
});
