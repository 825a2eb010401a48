import type { NetnsRef } from '../model/netns-ref.js';

/** Options of {@link SandboxService.create}. */
export interface SandboxCreateOptions {
  /** Aborts the creation (what was made is removed). */
  readonly signal?: AbortSignal;
  /**
   * Whether to bring `lo` up (default true). A caller that runs a batch in
   * the new namespace anyway passes false and puts `link set dev lo up` in
   * that batch, saving a process.
   */
  readonly loopbackUp?: boolean;
}

/**
 * Creates, finds and deletes network namespaces (sandboxes), registered
 * under the `SANDBOXES` token (replace it in `createNetMode({ configure })`).
 * Named namespaces are netmode's to create and delete; a path reference
 * (`/proc/PID/ns/net`, a bind mount) is the runtime's and is never deleted.
 */
export interface SandboxService {
  /**
   * Creates the named namespace `name`, by default with `lo` up. Refuses a
   * name that exists (ERR_NETNS_EXISTS: not netmode's to adopt); a failed
   * create leaves nothing.
   */
  create(name: string, options?: SandboxCreateOptions): Promise<NetnsRef>;
  /**
   * Checks that `name` can be created and returns its reference without
   * creating it, for a caller that puts `netns add NAME` in a batch of its
   * own. Throws ERR_NETNS_EXISTS like {@link SandboxService.create}.
   */
  claim(name: string): Promise<NetnsRef>;
  /**
   * Gives a sandbox netmode made the settings Docker gives every container's
   * namespace (see `SANDBOX_SYSCTLS`, changed by `createNetMode({
   * sandboxSysctls })`): one process. {@link SandboxService.create} does it
   * itself; a driver that makes a namespace in a batch of its own (after
   * {@link SandboxService.claim}) calls this. Optional: a service without
   * it leaves namespaces as the kernel makes them.
   */
  prepare?(ref: NetnsRef, signal?: AbortSignal): Promise<void>;
  /** Deletes a named namespace; idempotent. A path reference is refused (ERR_INVALID_CONFIG). */
  delete(ref: NetnsRef, signal?: AbortSignal): Promise<void>;
  /** Whether the namespace's pinning file exists. */
  exists(ref: NetnsRef): Promise<boolean>;
  /** The namespace's inode number (equal inodes: the same namespace). @throws ERR_NETNS_NOT_FOUND */
  inode(ref: NetnsRef): Promise<number>;
  /** Throws ERR_INVALID_CONFIG when `ref` is the host namespace or the SDK's own. */
  assertNotHost(ref: NetnsRef, hostNetns: NetnsRef): Promise<void>;
  /** Names of the named namespaces, optionally only those starting with `prefix`, sorted. */
  listNamed(prefix?: string): Promise<string[]>;
}
