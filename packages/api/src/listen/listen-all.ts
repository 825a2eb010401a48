import { readFileSync } from 'node:fs';
import { chmod, chown, lstat, unlink } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { ErrorCode, NetModeError, invalidConfig } from '@netmode/core';
import type { FastifyInstance } from 'fastify';
import { formatHost, isLoopbackHost, type ListenSpec } from './host-spec.js';

/** TLS of the TCP listeners, as dockerd's `--tlsverify --tlscacert --tlscert --tlskey`. */
export interface TlsSettings {
  /** PEM of the CA that signs client certificates (`--tlscacert`). */
  readonly ca: string | Buffer;
  /** PEM of the server's certificate (`--tlscert`). */
  readonly cert: string | Buffer;
  /** PEM of the server's private key (`--tlskey`). */
  readonly key: string | Buffer;
  /** Require a client certificate signed by `ca` (`--tlsverify`); without it, TCP stays on loopback. */
  readonly verify: boolean;
}

/** Who may reach the server, as dockerd's `--group` and TLS flags. */
export interface ListenSecurity {
  /** The group of the unix sockets, by name or gid (`--group`); default root's. */
  readonly group?: string;
  /** TLS for every TCP listener; required (with `verify`) for an address that is not loopback. */
  readonly tls?: TlsSettings;
}

/** What {@link listenAll} resolves to: call it to stop; it also says where it listens. */
export interface Listening {
  /** Stops accepting, ends the event streams, lets requests in flight finish, then removes the unix sockets. */
  (): Promise<void>;
  /** Where it listens, as `-H` writes it, with the port any `:0` got. */
  readonly addresses: readonly string[];
}

/** The first descriptor systemd passes (SD_LISTEN_FDS_START). */
const SD_LISTEN_FDS_START = 3;

/**
 * Makes `server` listen on every spec, all or nothing: every spec is checked
 * before the first socket opens, and a failure closes those already open.
 *
 * - `unix`: the socket is made with no permission at all, then given mode
 *   0660, owner root and the group of `security.group` (root's by default),
 *   so no one else can connect in between. An existing socket is replaced only
 *   when nobody answers on it; any other file there is refused.
 * - `tcp`: on a loopback address, or anywhere with `security.tls.verify`;
 *   every TCP listener speaks TLS when `security.tls` is given.
 * - `fd`: the descriptors of systemd socket activation (`LISTEN_FDS`, for
 *   this process by `LISTEN_PID`), or the one named.
 *
 * @throws ERR_INVALID_CONFIG (a non-loopback address without TLS
 * verification, an unknown group, no activated sockets, a file in the way),
 * ERR_BUSY (a live server answers on the socket), or the listen error.
 */
export async function listenAll(server: FastifyInstance, specs: readonly ListenSpec[], security: ListenSecurity = {}): Promise<Listening> {
  if (specs.length === 0) throw invalidConfig('host', 'give at least one address to listen on');
  for (const spec of specs) checkSecurity(spec, security);
  const gid = security.group === undefined ? 0 : resolveGroup(security.group);
  await server.ready();
  const handler = server.routing;
  const opened: { server: Server; socket?: string }[] = [];
  const addresses: string[] = [];
  try {
    for (const spec of specs) {
      for (const target of await targets(spec)) {
        const http: Server =
          spec.kind === 'tcp' && security.tls
            ? createHttpsServer(
                { ca: security.tls.ca, cert: security.tls.cert, key: security.tls.key, requestCert: true, rejectUnauthorized: security.tls.verify },
                handler,
              )
            : createHttpServer(handler);
        if (target.kind === 'unix') {
          await replaceStaleSocket(target.path);
          await listenUnix(http, target.path);
          opened.push({ server: http, socket: target.path });
          await chown(target.path, 0, gid);
          await chmod(target.path, 0o660);
          addresses.push(formatHost(target));
        } else if (target.kind === 'tcp') {
          await listen(http, { host: target.host, port: target.port });
          opened.push({ server: http });
          const { port } = http.address() as AddressInfo;
          addresses.push(formatHost({ ...target, port }));
        } else {
          await listen(http, { fd: target.fd as number });
          opened.push({ server: http });
          addresses.push(formatHost(target));
        }
      }
    }
  } catch (error) {
    await closeAll(server, opened);
    throw error;
  }
  return Object.assign(() => closeAll(server, opened), { addresses });
}

function checkSecurity(spec: ListenSpec, security: ListenSecurity): void {
  if (spec.kind !== 'tcp' || isLoopbackHost(spec.host) || security.tls?.verify === true) return;
  throw invalidConfig(
    'host',
    `${formatHost(spec)} is not a loopback address: without TLS and client certificates, anyone who reaches it could ` +
      'change the networks of this host as root. Listen on 127.0.0.1, or configure --tlsverify --tlscacert --tlscert --tlskey',
    { host: formatHost(spec) },
  );
}

/** The sockets a spec stands for: `fd://` is one per activated descriptor. */
async function targets(spec: ListenSpec): Promise<ListenSpec[]> {
  if (spec.kind !== 'fd' || spec.fd !== undefined) return [spec];
  const pid = Number(process.env['LISTEN_PID']);
  const count = Number(process.env['LISTEN_FDS']);
  if (pid !== process.pid || !Number.isInteger(count) || count < 1) {
    throw invalidConfig('host', 'fd:// needs sockets from systemd socket activation: LISTEN_PID is not this process, or LISTEN_FDS is not set');
  }
  return Array.from({ length: count }, (_, i) => ({ kind: 'fd' as const, fd: SD_LISTEN_FDS_START + i }));
}

/** Removes a socket file nobody answers on; refuses a live one or a file that is not a socket. */
async function replaceStaleSocket(path: string): Promise<void> {
  const stat = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (!stat) return;
  if (!stat.isSocket()) throw invalidConfig('host', `${path} exists and is not a socket; it is not netmode's to remove`, { path });
  const answered = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (answered) {
    throw new NetModeError(ErrorCode.BUSY, `a server already answers on unix://${path}; stop it first, or listen elsewhere`, { context: { path } });
  }
  await unlink(path);
}

/**
 * Binds with a umask of 0777, as dockerd does: the socket is born with no
 * permission and gets 0660 once its owner is set. Node binds a unix socket
 * synchronously inside `listen()`, so the umask is back before any other
 * code runs.
 */
function listenUnix(http: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    http.once('error', reject);
    const umask = process.umask(0o777);
    try {
      http.listen(path, () => {
        http.off('error', reject);
        resolve();
      });
    } finally {
      process.umask(umask);
    }
  });
}

function listen(http: Server, options: { host: string; port: number } | { fd: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    http.once('error', reject);
    http.listen(options, () => {
      http.off('error', reject);
      resolve();
    });
  });
}

/** Stops accepting everywhere, then lets Fastify end the streams and wait for requests in flight. */
async function closeAll(server: FastifyInstance, opened: readonly { server: Server; socket?: string }[]): Promise<void> {
  const closed = opened.map(
    ({ server: http }) =>
      new Promise<void>((resolve) => {
        if (!http.listening) return resolve();
        http.close(() => resolve());
      }),
  );
  // A keep-alive connection that goes idle after close() began would hold it open.
  const idle = setInterval(() => opened.forEach(({ server: http }) => http.closeIdleConnections()), 50);
  try {
    await server.close();
    opened.forEach(({ server: http }) => http.closeIdleConnections());
    await Promise.all(closed);
  } finally {
    clearInterval(idle);
  }
  for (const { socket } of opened) if (socket) await unlink(socket).catch(() => undefined);
}

/** A group by name (from /etc/group) or by number. */
function resolveGroup(group: string): number {
  if (/^[0-9]+$/.test(group)) return Number(group);
  let text = '';
  try {
    text = readFileSync('/etc/group', 'utf8');
  } catch {
    // No group file: only numbers can be resolved.
  }
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === group && gid !== undefined && /^[0-9]+$/.test(gid)) return Number(gid);
  }
  throw invalidConfig('group', `no group ${JSON.stringify(group)} on this host`, { group });
}
