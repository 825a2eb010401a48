import { usage } from '../cli-error.js';

/** Where the CLI finds a `netmode daemon`: what `-H` (or `NETMODE_HOST`) names. */
export type DaemonAddress =
  { readonly kind: 'unix'; readonly path: string } | { readonly kind: 'tcp'; readonly host: string; readonly port: number };

/** Docker's default ports: 2375 in the clear, 2376 with TLS. */
const DEFAULT_PORT = { plain: 2375, tls: 2376 } as const;

/** What `unix://` alone means, as for the daemon. */
const DEFAULT_SOCKET = '/run/netmode.sock';

/**
 * Parses a client's `-H` as the daemon parses its own (dockerd's spelling):
 * `unix:///PATH` (`unix://` alone: /run/netmode.sock), `tcp://HOST[:PORT]`
 * or `HOST:PORT` (`[::1]:PORT` for IPv6; no host: 127.0.0.1). `fd://` is a
 * daemon's word only: a client has no socket to inherit. Pure; throws a
 * usage error naming the value.
 */
export function parseDaemonAddress(value: string, tls: boolean): DaemonAddress {
  const fail = (why: string) => usage(`-H ${JSON.stringify(value)}: ${why} (unix:///PATH or tcp://HOST:PORT)`);
  const sep = value.indexOf('://');
  const scheme = sep < 0 ? 'tcp' : value.slice(0, sep).toLowerCase();
  const rest = sep < 0 ? value : value.slice(sep + 3);
  if (scheme === 'unix') {
    if (rest === '') return { kind: 'unix', path: DEFAULT_SOCKET };
    if (!rest.startsWith('/')) throw fail('a unix socket needs an absolute path');
    return { kind: 'unix', path: rest };
  }
  if (scheme === 'tcp') {
    const hostPort = /^(\[[0-9a-fA-F:.]+\]|[^:/[\]]*)(?::([0-9]{1,5}))?\/?$/.exec(rest);
    if (!hostPort) throw fail('tcp:// takes HOST or HOST:PORT');
    const [, written, rawPort] = hostPort as unknown as [string, string, string | undefined];
    const bracketed = written === '' ? '127.0.0.1' : written;
    const port = rawPort === undefined ? (tls ? DEFAULT_PORT.tls : DEFAULT_PORT.plain) : Number(rawPort);
    if (port < 1 || port > 65535) throw fail(`port ${port} is out of range`);
    return { kind: 'tcp', host: bracketed.replace(/^\[|\]$/g, ''), port };
  }
  if (scheme === 'fd') throw fail('fd:// is for netmode daemon, which inherits the socket; a client connects to unix:// or tcp://');
  throw fail(`unknown scheme ${scheme}://`);
}

/** The address as `-H` writes it, for messages. */
export function formatDaemonAddress(address: DaemonAddress): string {
  return address.kind === 'unix'
    ? `unix://${address.path}`
    : `tcp://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
}
