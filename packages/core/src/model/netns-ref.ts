/**
 * A reference to a network namespace, passed around as a value. The SDK never
 * switches its own process into a namespace; the command runner enters the
 * one a command names.
 *
 * - `host`: the namespace the SDK process itself runs in.
 * - `named`: `/run/netns/NAME`, as made by `ip netns add NAME`.
 * - `path`: any file that pins a namespace: `/proc/PID/ns/net` or a bind mount.
 */
export type NetnsRef =
  | {
      /** The SDK process's own namespace. */
      readonly kind: 'host';
    }
  | {
      /** A namespace pinned under `/run/netns`. */
      readonly kind: 'named';
      /** Its name: the file under `/run/netns`. */
      readonly name: string;
    }
  | {
      /** A namespace pinned by any file. */
      readonly kind: 'path';
      /** The file: `/proc/PID/ns/net` or a bind mount. */
      readonly path: string;
    };

/** The directory where `ip netns add` pins named namespaces. */
export const NETNS_RUN_DIR = '/run/netns';

/** The namespace the SDK process runs in. */
export const HOST_NETNS: NetnsRef = Object.freeze({ kind: 'host' });

/** A reference to the named namespace `/run/netns/NAME`. */
export function namedNetns(name: string): NetnsRef {
  return { kind: 'named', name };
}

/** A reference to the namespace pinned at `path` (`/proc/PID/ns/net`, a bind mount). */
export function pathNetns(path: string): NetnsRef {
  return { kind: 'path', path };
}

/** A reference to the network namespace of a running process. */
export function pidNetns(pid: number): NetnsRef {
  return { kind: 'path', path: `/proc/${pid}/ns/net` };
}

/**
 * The file that pins the namespace: what `nsenter --net=`, runc's
 * `config.json` or `setns(2)` take.
 */
export function netnsPath(ref: NetnsRef): string {
  switch (ref.kind) {
    case 'host':
      return '/proc/self/ns/net';
    case 'named':
      return `${NETNS_RUN_DIR}/${ref.name}`;
    case 'path':
      return ref.path;
  }
}

/** A short human-readable form: `host`, `named:NAME`, `path:/proc/1/ns/net`. */
export function formatNetns(ref: NetnsRef): string {
  switch (ref.kind) {
    case 'host':
      return 'host';
    case 'named':
      return `named:${ref.name}`;
    case 'path':
      return `path:${ref.path}`;
  }
}

/** Whether two references name the same namespace by their spelling (not by inode). */
export function sameNetnsRef(a: NetnsRef, b: NetnsRef): boolean {
  return formatNetns(a) === formatNetns(b);
}
