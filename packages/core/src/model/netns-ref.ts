import { invalidConfig } from '../errors.js';

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

const NETNS_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * Throws ERR_INVALID_CONFIG unless `name` is a usable named-namespace name
 * (a file under `/run/netns`): 1–64 letters, digits, `_`, `.`, `-`, starting
 * with a letter or digit.
 */
export function assertNetnsName(name: string, field = 'netns name'): void {
  if (typeof name !== 'string' || !NETNS_NAME.test(name)) {
    throw invalidConfig(
      field,
      `${JSON.stringify(name)} is not a valid namespace name: use 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit`,
    );
  }
}

/** Throws ERR_INVALID_CONFIG unless `ref` is a well-formed namespace reference. */
export function validateNetnsRef(ref: NetnsRef, field: string): void {
  switch (ref?.kind) {
    case 'host':
      return;
    case 'named':
      assertNetnsName(ref.name, `${field}.name`);
      return;
    case 'path':
      // The path ends up as a token on an `ip -batch` line (`netns PATH`), so
      // it follows the batch token rule: no white space, quotes or `#`.
      if (typeof ref.path !== 'string' || !/^\/[A-Za-z0-9_.:/@+-]*$/.test(ref.path) || ref.path.split('/').includes('..')) {
        throw invalidConfig(
          `${field}.path`,
          `${JSON.stringify(ref.path)} must be an absolute path of letters, digits and _ . : / @ + - without '..'`,
        );
      }
      return;
    default:
      throw invalidConfig(field, "must be { kind: 'host' }, { kind: 'named', name } or { kind: 'path', path }");
  }
}
