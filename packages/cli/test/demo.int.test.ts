import { readdir, readFile } from 'node:fs/promises';
import { integrationAvailable } from '@netmode/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROBE, assertBuilt, finish, netmode, printed, start } from './support/cli.js';

const root = integrationAvailable();

interface DemoReport {
  ok: boolean;
  prefix: string;
  firewall: string;
  paths: { path: string; expected: string; observed: string; ms: number | null; ok: boolean }[];
  leftovers: string[];
}

/** PIDs of running processes of the CLI's probe script. */
async function probeProcesses(): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(PROBE)) pids.push(Number(entry));
  }
  return pids;
}

const namespacesWith = async (prefix: string) => (await readdir('/run/netns')).filter((n) => n.startsWith(prefix));

describe.skipIf(!root)('netmode demo (the README main-job command)', () => {
  beforeAll(() => assertBuilt());

  it('observes every path as expected and leaves nothing (nftables, --json)', async () => {
    const result = await netmode(['demo', '--json'], { timeoutMs: 55_000 });
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as DemoReport;
    expect(report.paths.filter((p) => !p.ok)).toEqual([]);
    expect(report.paths.map((p) => p.path)).toEqual([
      'container to container (bridge)',
      'container to container (demo-net)',
      'container to container by name (demo-net)',
      'networks are isolated',
      'a container on two networks reaches the first',
      '...and the one connected while it ran',
      'container to outside, TCP (masquerade)',
      'container to outside, UDP (masquerade)',
      'demo-net to outside (masquerade)',
      'outside to published port, TCP',
      'outside to published port, UDP',
      'host to 127.0.0.1:port',
      'container to published port (hairpin)',
      'container:web over 127.0.0.1',
      "container:web has web's network",
      'none has no route',
      'none has only lo',
      "host sees the host's interfaces",
    ]);
    expect(report).toMatchObject({ ok: true, firewall: 'nftables', leftovers: [] });
    expect(await namespacesWith(report.prefix)).toEqual([]);
  });

  it('prints the matrix and works with the iptables firewall', async () => {
    const result = await netmode(['--firewall', 'iptables', 'demo'], { timeoutMs: 55_000 });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^PATH +FROM +TO +EXPECTED +OBSERVED +MS$/m);
    expect(result.stdout).toContain('$ netmode run -d --name sidecar --net container:web');
    expect(result.stdout).toContain('$ netmode network connect demo-net both');
    expect(result.stdout).toContain('18 of 18 paths as expected.');
    expect(result.stdout).toContain('Removed everything');
    expect(result.stdout).not.toContain('✗');
    const prefix = /host namespace (nd[0-9a-f]{3})host/.exec(result.stdout)?.[1] as string;
    expect(await namespacesWith(prefix)).toEqual([]);
  });

  it('removes everything when interrupted (SIGINT) and exits 130', async () => {
    const probesBefore = await probeProcesses();
    const child = start(['demo']);
    const done = finish(child, 55_000);
    await printed(child, '--name client', 30_000);
    child.kill('SIGINT');
    const result = await done;
    expect(result.code).toBe(130);
    const prefix = /host namespace (nd[0-9a-f]{3})host/.exec(result.stdout)?.[1] as string;
    expect(prefix).toBeDefined();
    expect(await namespacesWith(prefix)).toEqual([]);
    expect(result.stderr).toContain('SIGINT: removing everything the demo made');
    expect((await probeProcesses()).filter((pid) => !probesBefore.includes(pid))).toEqual([]);
  });

  it('refuses to run without a firewall', async () => {
    const result = await netmode(['--iptables=false', 'demo']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('needs a firewall');
  });
});
