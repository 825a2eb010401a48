import { setTimeout as sleep } from 'node:timers/promises';
import {
  ErrorCode,
  IpBatch,
  assertInterfaceName,
  invalidConfig,
  isNetModeError,
  parseAddress,
  runIpBatch,
  validateNetnsRef,
  type DriverContext,
  type NetnsRef,
} from '@netmode/core';
import { MACVLAN_MODES, type MacvlanMode } from './options.js';

/** What the driver needs to know about one link. */
export interface LinkFacts {
  /** The link's name. */
  readonly name: string;
  /** Its kind from `-details` (`macvlan`, `veth`, `bridge`; absent for a physical NIC). */
  readonly kind: string | undefined;
  /** Its hardware type (`ether`, `loopback`, …), when `ip` printed it. */
  readonly linkType: string | undefined;
  /** Whether it is administratively up. */
  readonly up: boolean;
  /** Its MAC address. */
  readonly mac: string | undefined;
  /** Its IPv4 addresses in CIDR form. */
  readonly ipv4: readonly string[];
}

interface JsonLink {
  ifname: string;
  flags?: string[];
  link_type?: string;
  address?: string;
  linkinfo?: { info_kind?: string };
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

/**
 * Reads one link in `netns`: `undefined` when it does not exist. `ip` exits
 * with a failure for a missing device, so its exit status is the answer to
 * "does it exist"; the JSON adds the details (a runner that prints nothing,
 * such as the recording runner of unit tests, yields a link with no details).
 */
export async function readLink(ctx: DriverContext, netns: NetnsRef, name: string): Promise<LinkFacts | undefined> {
  assertInterfaceName(name);
  let stdout: string;
  try {
    ({ stdout } = await ctx.runner.run({ command: 'ip', args: ['-json', '-details', 'address', 'show', 'dev', name], netns }));
  } catch (error) {
    if (isNetModeError(error, ErrorCode.COMMAND_FAILED) && /does not exist/.test(String(error.context['stderr']))) return undefined;
    throw error;
  }
  const link = stdout.trim() === '' ? undefined : (JSON.parse(stdout) as JsonLink[])[0];
  return {
    name,
    kind: link?.linkinfo?.info_kind,
    linkType: link?.link_type,
    up: link?.flags?.includes('UP') ?? false,
    mac: link?.address,
    ipv4: (link?.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`),
  };
}

/** What one macvlan link is made of. */
export interface MacvlanLink {
  /** Its name inside the sandbox (`eth0` unless the caller chose one). */
  readonly name: string;
  /** The parent interface in the host namespace. */
  readonly parent: string;
  /** The macvlan mode. */
  readonly mode: MacvlanMode;
  /** Its MAC; absent in passthru mode, where the kernel gives it the parent's. */
  readonly mac?: string;
  /** The file pinning the sandbox it is born in (`/run/netns/NAME`, `/proc/PID/ns/net`). */
  readonly netnsPath: string;
}

// The same last guard as core's IpBatch: `ip -batch` splits a line on white
// space and treats `#` as a comment.
const SAFE_TOKEN = /^[A-Za-z0-9_.:/@+-]+$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/**
 * The one `ip -batch` line that makes a macvlan endpoint, run in the host
 * namespace where the parent lives:
 * `link add NAME [address MAC] link PARENT netns PATH type macvlan mode MODE`.
 * The link is born inside the sandbox under its final name: no move, no
 * rename, and a name taken in the host namespace is no obstacle.
 *
 * Core's `IpBatch` has no method for it yet, so this builds the tokens itself
 * and checks every one the way `IpBatch` would; once `IpBatch.macvlanAdd`
 * exists this becomes one call on the host-side batch.
 */
export function macvlanAddLine(link: MacvlanLink): string {
  assertInterfaceName(link.name, 'ifname');
  assertInterfaceName(link.parent, 'parent');
  if (!MACVLAN_MODES.includes(link.mode)) throw invalidConfig('mode', `${JSON.stringify(link.mode)} is not a macvlan mode`);
  if (link.mac !== undefined && !MAC.test(link.mac)) throw invalidConfig('mac', `${JSON.stringify(link.mac)} is not a MAC address`);
  validateNetnsRef({ kind: 'path', path: link.netnsPath }, 'netns');
  const tokens = [
    'link', 'add', link.name,
    ...(link.mac === undefined ? [] : ['address', link.mac]),
    'link', link.parent, 'netns', link.netnsPath, 'type', 'macvlan', 'mode', link.mode,
  ];
  for (const token of tokens) {
    if (!SAFE_TOKEN.test(token)) throw invalidConfig('ip batch', `unsafe token ${JSON.stringify(token)}`);
  }
  return tokens.join(' ');
}

/** Runs one batch line as `ip -batch -` in `netns`, naming the line in a failure's context. */
export async function runBatchLine(ctx: DriverContext, netns: NetnsRef, line: string): Promise<void> {
  try {
    await ctx.runner.run({ command: 'ip', args: ['-batch', '-'], netns, input: `${line}\n`, signal: ctx.signal });
  } catch (error) {
    if (isNetModeError(error, ErrorCode.COMMAND_FAILED)) error.withContext({ failedLine: 1, failedCommand: line });
    throw error;
  }
}

/**
 * Docker's macvlan MAC: `02:42` and the four bytes of the IPv4 address. A
 * container that gets an address someone had before also gets that MAC, so
 * the neighbours' ARP caches on the parent's network stay right, and the MAC
 * traces back to its lease.
 */
export function macFromIpv4(address: string): string {
  const ip = parseAddress(address);
  if (ip.family !== 4) throw invalidConfig('address', `${address} is not an IPv4 address`);
  const bytes = ip.text.split('.').map((b) => Number(b).toString(16).padStart(2, '0'));
  return ['02', '42', ...bytes].join(':');
}

// A macvlan whose namespace was just deleted lingers in the kernel for about
// 30 ms, still holding its MAC on the parent: bringing up a new one with the
// same MAC (the same static address or `mac` again) fails with "Address
// already in use" meanwhile.
const MAC_BUSY_WAIT_MS = 25;
const MAC_BUSY_ATTEMPTS = 40;

/**
 * Runs the in-sandbox batch, retrying while the link's `up` line fails
 * because the MAC is still held by a macvlan the kernel is removing. The
 * lines before `up` are idempotent, so the whole batch can run again.
 */
export async function runUntilMacFree(ctx: DriverContext, netns: NetnsRef, batch: IpBatch, upLine: string): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await runIpBatch(ctx.runner, netns, batch, ctx.signal);
      return;
    } catch (error) {
      const macBusy =
        isNetModeError(error, ErrorCode.COMMAND_FAILED) &&
        error.context['failedCommand'] === upLine &&
        /Address already in use/.test(String(error.context['stderr']));
      if (!macBusy || attempt >= MAC_BUSY_ATTEMPTS) throw error;
      // No signal here: an abort meanwhile fails the next run with ERR_ABORTED.
      await sleep(MAC_BUSY_WAIT_MS);
    }
  }
}

/**
 * Deletes the macvlan `name` in a namespace the driver does not own, if it is
 * there and is a macvlan: anything else of that name is the runtime's. A
 * namespace that is gone took the link with it. Runs without the caller's
 * signal: a teardown step must finish.
 */
export async function deleteMacvlanIfPresent(ctx: DriverContext, netns: NetnsRef, name: string): Promise<void> {
  if (!(await ctx.sandboxes.exists(netns))) return;
  const link = await readLink(ctx, netns, name);
  if (link?.kind !== 'macvlan') return;
  try {
    await runIpBatch(ctx.runner, netns, new IpBatch().linkDelete(name));
  } catch (error) {
    if (await readLink(ctx, netns, name)) throw error;
  }
}
