import { isIP } from 'node:net';
import { invalidConfig } from '@netmode/core';

/** The unix socket `unix://` means when it names no path. */
export const DEFAULT_UNIX_SOCKET = '/run/netmode.sock';
/** The port `tcp://HOST` means when it names none (Docker's plain-HTTP port). */
export const DEFAULT_TCP_PORT = 2375;

/** One `-H` value, parsed: where the server listens. */
export type ListenSpec =
  | {
      /** A unix socket, created 0660 and owned by root (and `--group`). */
      readonly kind: 'unix';
      /** Its absolute path. */
      readonly path: string;
    }
  | {
      /** A TCP port: on loopback only, unless TLS with client certificates is configured. */
      readonly kind: 'tcp';
      /** The address, as written (brackets of IPv6 taken off); `localhost` or an IP address. */
      readonly host: string;
      /** The port; 0 asks for any free one. */
      readonly port: number;
    }
  | {
      /** Listening sockets handed over by the service manager (systemd socket activation). */
      readonly kind: 'fd';
      /** `fd://N`: that descriptor; absent (`fd://`): every one of `LISTEN_FDS`. */
      readonly fd?: number;
    };

/**
 * Parses a value of `-H` as dockerd does: `unix:///PATH` (`unix://` alone:
 * {@link DEFAULT_UNIX_SOCKET}), `tcp://HOST:PORT` (`tcp://` alone or
 * `HOST:PORT` without a scheme: TCP; no host is 127.0.0.1, no port
 * {@link DEFAULT_TCP_PORT}), `fd://` and `fd://N`.
 *
 * @throws ERR_INVALID_CONFIG for any other scheme (`npipe://`, `ssh://`, …),
 * a relative socket path, a port out of range, or a path after a TCP address.
 */
export function parseHost(value: string): ListenSpec {
  if (typeof value !== 'string' || value.trim() === '') throw invalidConfig('host', 'must not be empty');
  const sep = value.indexOf('://');
  const scheme = sep < 0 ? 'tcp' : value.slice(0, sep).toLowerCase();
  const rest = sep < 0 ? value : value.slice(sep + 3);
  switch (scheme) {
    case 'unix': {
      const path = rest === '' ? DEFAULT_UNIX_SOCKET : rest;
      if (!path.startsWith('/') || /[\0\n]/.test(path)) throw invalidConfig('host', `${JSON.stringify(value)}: the socket path must be absolute`);
      return { kind: 'unix', path };
    }
    case 'tcp':
      return parseTcp(value, rest);
    case 'fd': {
      if (rest === '') return { kind: 'fd' };
      if (!/^[0-9]+$/.test(rest) || Number(rest) < 3) {
        throw invalidConfig('host', `${JSON.stringify(value)}: fd://N takes a descriptor number of 3 or more`);
      }
      return { kind: 'fd', fd: Number(rest) };
    }
    default:
      throw invalidConfig('host', `${JSON.stringify(value)}: the scheme ${scheme}:// is not served; use unix://, tcp:// or fd://`);
  }
}

function parseTcp(value: string, rest: string): ListenSpec {
  if (/[/?#]/.test(rest)) throw invalidConfig('host', `${JSON.stringify(value)}: a TCP address takes no path`);
  let host: string;
  let port: string;
  const bracket = /^\[([^\]]*)\](?::(.*))?$/.exec(rest);
  if (bracket) {
    host = bracket[1] ?? '';
    port = bracket[2] ?? '';
  } else {
    const colon = rest.lastIndexOf(':');
    host = colon < 0 ? rest : rest.slice(0, colon);
    port = colon < 0 ? '' : rest.slice(colon + 1);
    if (host.includes(':')) throw invalidConfig('host', `${JSON.stringify(value)}: write an IPv6 address in brackets, [::1]:2375`);
  }
  if (host === '') host = '127.0.0.1';
  if (host !== 'localhost' && isIP(host) === 0 && !/^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(host)) {
    throw invalidConfig('host', `${JSON.stringify(value)}: ${JSON.stringify(host)} is not a host name or address`);
  }
  if (port !== '' && (!/^[0-9]+$/.test(port) || Number(port) > 65535)) {
    throw invalidConfig('host', `${JSON.stringify(value)}: the port must be a number from 0 to 65535`);
  }
  return { kind: 'tcp', host, port: port === '' ? DEFAULT_TCP_PORT : Number(port) };
}

/** The spec as `-H` writes it. */
export function formatHost(spec: ListenSpec): string {
  switch (spec.kind) {
    case 'unix':
      return `unix://${spec.path}`;
    case 'tcp':
      return `tcp://${spec.host.includes(':') ? `[${spec.host}]` : spec.host}:${spec.port}`;
    case 'fd':
      return spec.fd === undefined ? 'fd://' : `fd://${spec.fd}`;
  }
}

/** Whether a TCP host is on loopback only: `localhost`, 127.0.0.0/8, `::1`. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}
