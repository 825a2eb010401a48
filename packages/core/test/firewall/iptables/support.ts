import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { expect } from 'vitest';
import type { CommandSpec } from '../../../src/exec/runner.js';
import type { FirewallEndpoint, FirewallNetwork } from '../../../src/firewall/firewall.js';

/** icc on, masqueraded. */
export const NET_A: FirewallNetwork = {
  networkId: 'net-a',
  bridge: 'nm-a',
  subnets: ['172.30.1.0/24'],
  icc: true,
  ipMasq: true,
  internal: false,
};
/** icc off. */
export const NET_B: FirewallNetwork = { ...NET_A, networkId: 'net-b', bridge: 'nm-b', subnets: ['172.30.2.0/24'], icc: false };
/** internal (its ipMasq must be ignored). */
export const NET_C: FirewallNetwork = {
  ...NET_A,
  networkId: 'net-c',
  bridge: 'nm-c',
  subnets: ['172.30.3.0/24'],
  internal: true,
  dnsAddress: '172.30.3.1',
};
/** Two subnets, and an id that needs quoting in a comment. */
export const NET_D: FirewallNetwork = {
  ...NET_A,
  networkId: 'net.d@x:1',
  bridge: 'nm-d',
  subnets: ['172.30.4.0/24', '172.30.5.0/24'],
};
export const NETWORKS = [NET_A, NET_B, NET_C, NET_D] as const;

/** One tcp port on every address. */
export const EP_A: FirewallEndpoint = {
  endpointId: 'ep-a',
  networkId: 'net-a',
  bridge: 'nm-a',
  address: '172.30.1.2',
  ports: [{ protocol: 'tcp', hostPort: 8080, containerPort: 80, count: 1 }],
};
/** Three udp ports on one host address. */
export const EP_B: FirewallEndpoint = {
  endpointId: 'ep-b',
  networkId: 'net-b',
  bridge: 'nm-b',
  address: '172.30.2.2',
  ports: [{ protocol: 'udp', hostIp: '10.231.255.1', hostPort: 5000, containerPort: 6000, count: 3 }],
};
export const ENDPOINTS = [EP_A, EP_B] as const;

const here = (name: string) => new URL(name, import.meta.url);

/** Compares `text` with `golden/NAME.rules`; rewrites the file instead when UPDATE_GOLDEN=1. */
export async function expectGolden(name: string, text: string): Promise<void> {
  await expectFile(here(`golden/${name}.rules`), text);
}

/**
 * Compares `text` with `fixtures/NAME.save` (real `iptables-save` output,
 * normalized); rewrites it instead when UPDATE_GOLDEN=1. The integration test
 * writes and checks these, the unit tests read them.
 */
export async function expectFixture(name: string, text: string): Promise<void> {
  await expectFile(here(`fixtures/${name}.save`), text);
}

/** The text of `fixtures/NAME.save`. */
export function readFixture(name: string): Promise<string> {
  return readFile(here(`fixtures/${name}.save`), 'utf8');
}

async function expectFile(url: URL, text: string): Promise<void> {
  if (process.env['UPDATE_GOLDEN'] === '1') {
    await writeFile(url, text);
    return;
  }
  if (!existsSync(url)) throw new Error(`${url.pathname} is missing; run with UPDATE_GOLDEN=1 to write it`);
  expect(text).toBe(await readFile(url, 'utf8'));
}

/**
 * `iptables-save` output without what changes from run to run: comment lines
 * (they carry the time) and counters; tables sorted by name, since their
 * order follows creation order.
 */
export function normalizeSave(text: string): string {
  const tables: string[][] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    if (line.startsWith('*')) tables.push([]);
    tables.at(-1)?.push(line.replace(/\[\d+:\d+\]$/, '[0:0]'));
  }
  return tables
    .map((lines) => `${lines.join('\n')}\n`)
    .sort()
    .join('');
}

/**
 * A scripted reply for `iptables-save`: the whole text, or only the table
 * named by `-t TABLE`, as the real tool prints it.
 */
export function fakeSave(text: string): (spec: CommandSpec) => { stdout: string } {
  return (spec) => {
    const at = spec.args.indexOf('-t');
    if (at < 0) return { stdout: text };
    const table = spec.args[at + 1];
    const block = text.split(/(?=^\*)/m).find((part) => part.startsWith(`*${table}\n`));
    return { stdout: block ?? '' };
  };
}
