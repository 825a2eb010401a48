import { readdir, stat } from 'node:fs/promises';
import { ErrorCode, NetModeError, asNetModeError, errorMessage, invalidConfig } from '../errors.js';
import type { NetModeEmitter } from '../events.js';
import { IpBatch, runIpBatch } from '../exec/ip-batch.js';
import type { CommandRunner } from '../exec/runner.js';
import { NETNS_RUN_DIR, formatNetns, namedNetns, netnsPath, type NetnsRef } from '../model/netns-ref.js';
import { assertNetnsName } from '../model/netns-ref.js';
import type { SandboxCreateOptions, SandboxService } from './types.js';

/**
 * The default {@link SandboxService}: named namespaces under `/run/netns`,
 * made and deleted with `ip netns`; path references (`/proc/PID/ns/net`, a
 * bind mount) are adopted as they are and never deleted by netmode.
 */
export class NetnsSandboxService implements SandboxService {
  readonly #runner: CommandRunner;
  readonly #events: NetModeEmitter | undefined;
  readonly #sysctls: readonly string[];

  /**
   * @param sysctls - every sysctl {@link NetnsSandboxService.prepare}
   * writes in a sandbox it makes; default none, plain namespaces (for test
   * fixtures and tools). `createNetMode` passes {@link SANDBOX_SYSCTLS},
   * changed by its `sandboxSysctls`.
   */
  constructor(runner: CommandRunner, events?: NetModeEmitter, sysctls: Readonly<Record<string, string>> = {}) {
    this.#runner = runner;
    this.#events = events;
    this.#sysctls = Object.entries(resolveSandboxSysctls(sysctls, {})).map(([key, value]) => `${key}=${value}`);
  }

  /** Writes the sandbox sysctls in `ref` (one `sysctl -w` process; none when there are none). */
  async prepare(ref: NetnsRef, signal?: AbortSignal): Promise<void> {
    if (this.#sysctls.length === 0) return;
    await this.#runner.run({ command: 'sysctl', args: ['-q', '-w', ...this.#sysctls], netns: ref, ...(signal ? { signal } : {}) });
  }

  /**
   * Creates the named namespace `name`, by default with `lo` up. Refuses (ERR_INVALID_CONFIG)
   * a name that already exists, since that namespace is not ours to adopt; on
   * any failure after the namespace was made, deletes it again before
   * rethrowing, so a failed create leaves nothing.
   */
  async create(name: string, options: SandboxCreateOptions = {}): Promise<NetnsRef> {
    const { signal, loopbackUp = true } = options;
    const ref = await this.claim(name);
    try {
      // `ip netns add` runs in the SDK's own namespace on purpose: the new
      // namespace is fresh whatever namespace creates it, and `ip -n` would
      // lose the /run/netns bind mount in its private mount namespace.
      await runIpBatch(this.#runner, { kind: 'host' }, new IpBatch().netnsAdd(name), signal);
      await Promise.all([
        loopbackUp ? runIpBatch(this.#runner, ref, new IpBatch().linkUp('lo'), signal) : undefined,
        this.prepare(ref, signal),
      ]);
    } catch (cause) {
      // It did not exist before, and the endpoint record keeps other callers
      // off this name, so whatever is there now is ours to remove.
      const error = asNetModeError(cause, `creating namespace ${name}`);
      try {
        await this.delete(ref);
      } catch (cleanup) {
        throw error.markRolledBack(false, { rollbackFailed: [`netns ${name}: ${errorMessage(cleanup)}`] });
      }
      throw error;
    }
    this.#events?.emit('sandbox:created', { netns: ref });
    return ref;
  }

  /**
   * Checks that the named namespace `name` can be created, and returns its
   * reference, without creating it: for a caller that puts `netns add NAME`
   * in a host-side batch of its own to save a process. Throws
   * ERR_NETNS_EXISTS like {@link SandboxService.create}.
   */
  async claim(name: string): Promise<NetnsRef> {
    assertNetnsName(name);
    const ref = namedNetns(name);
    if (await this.exists(ref)) {
      throw new NetModeError(ErrorCode.NETNS_EXISTS, `namespace ${name} already exists; remove it (ip netns delete ${name})`, {
        context: { netns: name },
      });
    }
    return ref;
  }

  /**
   * Deletes a named namespace. Idempotent: a namespace that is already gone
   * is success. Path references are refused, since netmode never owns them.
   */
  async delete(ref: NetnsRef, signal?: AbortSignal): Promise<void> {
    if (ref.kind !== 'named') {
      throw invalidConfig('netns', `only named namespaces can be deleted, not ${formatNetns(ref)}`);
    }
    assertNetnsName(ref.name);
    if (!(await this.exists(ref))) return;
    try {
      await runIpBatch(this.#runner, { kind: 'host' }, new IpBatch().netnsDelete(ref.name), signal);
    } catch (error) {
      // Lost a race with another deleter: gone is what we wanted.
      if (!(await this.exists(ref))) return;
      throw error;
    }
    this.#events?.emit('sandbox:deleted', { netns: ref });
  }

  /** Whether the namespace's pinning file exists. */
  async exists(ref: NetnsRef): Promise<boolean> {
    try {
      await stat(netnsPath(ref));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * The namespace's inode number: two references name the same namespace
   * exactly when their inodes (and devices) are equal. Throws
   * ERR_NETNS_NOT_FOUND when it does not exist.
   */
  async inode(ref: NetnsRef): Promise<number> {
    try {
      return (await stat(netnsPath(ref))).ino;
    } catch (cause) {
      throw new NetModeError(ErrorCode.NETNS_NOT_FOUND, `network namespace ${formatNetns(ref)} does not exist`, {
        cause,
        context: { netns: formatNetns(ref) },
      });
    }
  }

  /**
   * Throws ERR_INVALID_CONFIG when `ref` is the host namespace or the SDK's
   * own (same inode): configuring it as a container's sandbox would give the
   * container host networking under another mode's name.
   */
  async assertNotHost(ref: NetnsRef, hostNetns: NetnsRef): Promise<void> {
    const inode = await this.inode(ref);
    const host = await this.inode(hostNetns);
    const own = await this.inode({ kind: 'host' });
    if (inode === host || inode === own) {
      throw invalidConfig('netns', `${formatNetns(ref)} is the host namespace; use the 'host' mode`);
    }
  }

  /** Names of the named namespaces under `/run/netns`, optionally only those starting with `prefix`. */
  async listNamed(prefix = ''): Promise<string[]> {
    try {
      return (await readdir(NETNS_RUN_DIR)).filter((name) => name.startsWith(prefix)).sort();
    } catch {
      return [];
    }
  }
}

/**
 * What Docker writes in every container's network namespace, and netmode
 * in every sandbox it makes: unprivileged processes may bind ports below
 * 1024 and send ICMP echo (ping) without raw sockets, and IPv6 is off
 * (containers are IPv4-only until netmode's IPv6 lands: no `::1`, no
 * link-local address). Keys use `/` as separator.
 */
export const SANDBOX_SYSCTLS: Readonly<Record<string, string>> = {
  'net/ipv4/ip_unprivileged_port_start': '0',
  'net/ipv4/ping_group_range': '0 2147483647',
  'net/ipv6/conf/all/disable_ipv6': '1',
  'net/ipv6/conf/default/disable_ipv6': '1',
};

const SYSCTL_KEY = /^net\/[A-Za-z0-9_./-]+$/;
const SYSCTL_VALUE = /^-?[0-9]+( -?[0-9]+)*$/;

/**
 * {@link SANDBOX_SYSCTLS} changed by `changes`: a value replaces or adds one
 * (a key with `.` or `/` separators, under `net`), `null` leaves that one
 * as the kernel makes it.
 *
 * @throws ERR_INVALID_CONFIG for a key outside `net/` or a value that is not whole numbers.
 */
export function resolveSandboxSysctls(changes: Readonly<Record<string, string | null>>, base = SANDBOX_SYSCTLS): Record<string, string> {
  if (changes === null || typeof changes !== 'object' || Array.isArray(changes)) {
    throw invalidConfig('sandboxSysctls', 'must be an object of sysctl names to values (or null)');
  }
  const result: Record<string, string> = { ...base };
  for (const [raw, value] of Object.entries(changes)) {
    // `net.ipv4.x` as sysctl(8) writes it; interface names with dots are written with `/`.
    const key = raw.includes('/') ? raw : raw.replaceAll('.', '/');
    if (!SYSCTL_KEY.test(key) || key.split('/').includes('..')) {
      throw invalidConfig(`sandboxSysctls.${raw}`, 'must be a network sysctl (net.…) of a network namespace');
    }
    if (value === null) {
      delete result[key];
      continue;
    }
    if (typeof value !== 'string' || !SYSCTL_VALUE.test(value)) {
      throw invalidConfig(`sandboxSysctls.${raw}`, `${JSON.stringify(value)} must be whole numbers separated by spaces, or null`);
    }
    result[key] = value;
  }
  return result;
}
