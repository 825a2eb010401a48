import type { Endpoint } from './endpoint.js';
import type { SandboxFiles } from './names.js';
import type { NetnsRef } from './netns-ref.js';

/**
 * One container's sandbox, as `inspect()` shows it: the namespace its
 * processes run in, and every endpoint it holds there, one per network.
 */
export interface Sandbox {
  /** The container's id or name. */
  readonly containerId: string;
  /** The namespace the container's processes run in. */
  readonly netns: NetnsRef;
  /**
   * For `container:NAME`: the container whose sandbox this one joined.
   * Its networks are the owner's; {@link Sandbox.endpoints} holds the join.
   */
  readonly joinedTo?: string;
  /** Containers that joined this sandbox (`container:NAME`), sorted. */
  readonly joiners: readonly string[];
  /** The container's hostname, as its `hostname` file holds it. */
  readonly hostname: string;
  /**
   * Its name files, to bind-mount over `/etc/hostname`, `/etc/hosts` and
   * `/etc/resolv.conf`; a joiner (`container:NAME`) gets its target's.
   * Absent when the instance keeps no state directory (a custom store
   * without `filesDir`).
   */
  readonly files?: SandboxFiles;
  /** The endpoints, in the order they were connected. */
  readonly endpoints: readonly Endpoint[];
  /** Where the default route goes, when an endpoint provides one. */
  readonly defaultRoute?: {
    /** The endpoint that provides it. */
    readonly endpointId: string;
    /** Its network's name. */
    readonly network: string;
    /** The gateway. */
    readonly gateway: string;
    /** The sandbox interface it leaves through. */
    readonly ifname: string;
  };
}
