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

  constructor(runner: CommandRunner, events?: NetModeEmitter) {
    this.#runner = runner;
    this.#events = events;
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
      if (loopbackUp) await runIpBatch(this.#runner, ref, new IpBatch().linkUp('lo'), signal);
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
