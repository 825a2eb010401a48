import { readdir, stat } from 'node:fs/promises';
import { ErrorCode, NetModeError, invalidConfig } from '../errors.js';
import type { NetModeEmitter } from '../events.js';
import { IpBatch, runIpBatch } from '../exec/ip-batch.js';
import type { CommandRunner } from '../exec/runner.js';
import { NETNS_RUN_DIR, formatNetns, namedNetns, netnsPath, type NetnsRef } from '../model/netns-ref.js';
import { assertNetnsName } from '../net/names.js';

/**
 * Creates, finds and deletes network namespaces (sandboxes). Named
 * namespaces live under `/run/netns`; path references (`/proc/PID/ns/net`, a
 * bind mount) are adopted as they are and never deleted by netmode.
 */
export class SandboxService {
  readonly #runner: CommandRunner;
  readonly #events: NetModeEmitter | undefined;

  constructor(runner: CommandRunner, events?: NetModeEmitter) {
    this.#runner = runner;
    this.#events = events;
  }

  /**
   * Creates the named namespace `name` with `lo` up. Refuses (ERR_INVALID_CONFIG)
   * a name that already exists, since that namespace is not ours to adopt; on
   * any failure after the namespace was made, deletes it again before
   * rethrowing, so a failed create leaves nothing.
   */
  async create(name: string, signal?: AbortSignal): Promise<NetnsRef> {
    assertNetnsName(name);
    const ref = namedNetns(name);
    if (await this.exists(ref)) {
      throw invalidConfig('netns', `namespace ${name} already exists; remove it or run reconcile()`, { netns: name });
    }
    try {
      // `ip netns add` runs in the SDK's own namespace on purpose: the new
      // namespace is fresh whatever namespace creates it, and `ip -n` would
      // lose the /run/netns bind mount in its private mount namespace.
      await runIpBatch(this.#runner, { kind: 'host' }, new IpBatch().netnsAdd(name), signal);
      await runIpBatch(this.#runner, ref, new IpBatch().linkUp('lo'), signal);
    } catch (error) {
      // It did not exist before, so whatever is there now is ours to remove.
      await this.delete(ref).catch(() => undefined);
      throw error;
    }
    this.#events?.emit('sandbox:created', { netns: ref });
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

  /** Names of the named namespaces under `/run/netns`, optionally only those starting with `prefix`. */
  async listNamed(prefix = ''): Promise<string[]> {
    try {
      return (await readdir(NETNS_RUN_DIR)).filter((name) => name.startsWith(prefix)).sort();
    } catch {
      return [];
    }
  }
}
