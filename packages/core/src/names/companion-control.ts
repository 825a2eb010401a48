import { connect } from 'node:net';
import { join } from 'node:path';
import type { PortProtocol } from '../model/endpoint.js';
import type { PortLease } from '../ports/types.js';
import type { EmbeddedDnsListenFailure } from './dns/embedded-dns-server.js';

/**
 * The companion's control channel: a Unix socket in the state directory,
 * one JSON request and one JSON reply per connection. It is how an SDK
 * process tells the companion that records changed, and waits until the
 * companion answers from them.
 *
 * @module
 */

/** What an SDK process asks the companion. */
export interface ControlRequest {
  /**
   * `reload`: read the records again and answer once serving them; `status`:
   * only answer; `stop`: exit; `hold`: bind the ports of {@link leases} for
   * {@link owner}, all or none; `release`: let go of every port of
   * {@link owner} (its leases are gone, or never committed); `ports`: read
   * {@link containerId}'s records and the port leases again, and hold or
   * let go accordingly (a connect or disconnect on a network without the
   * DNS server), without rebuilding the name table.
   */
  readonly op: 'reload' | 'status' | 'stop' | 'hold' | 'release' | 'ports';
  /**
   * With `reload`: the one container whose endpoints changed (a connect or
   * a disconnect). The companion reads that container's records and the
   * networks, not every record: a connect costs the same with 10 or 1 000
   * endpoints. Absent: everything is read again.
   */
  readonly containerId?: string;
  /** With `hold` and `release`: the leases' owner (`endpoint:ID`). */
  readonly owner?: string;
  /** With `hold`: the port leases to bind. */
  readonly leases?: readonly PortLease[];
}

/** A port the companion could not bind, and who has it when `ss` says. */
export interface PortRefusal {
  /** `tcp` or `udp`. */
  readonly protocol: PortProtocol;
  /** The host address; absent means every address. */
  readonly hostIp?: string;
  /** The port. */
  readonly hostPort: number;
  /** Why (`address in use`, …). */
  readonly error: string;
  /** The process that has it, as `NAME (pid N)`, when found. */
  readonly holder?: string;
}

/** Whether the embedded DNS server runs, as `NetworkManager.nameServer()` says it. */
export interface NameServerStatus {
  /** The companion process's PID. */
  readonly pid: number;
  /** The addresses its DNS server listens on (port 53). */
  readonly listening: readonly string[];
}

/** The companion's reply. */
export interface ControlReply {
  /** False when the companion is on its way out and took no request. */
  readonly ok: boolean;
  /** The companion's PID. */
  readonly pid: number;
  /** The addresses its DNS server listens on, after the request. */
  readonly listening: readonly string[];
  /** The addresses it could not listen on, with the reason (an address in use, say). */
  readonly failed: readonly EmbeddedDnsListenFailure[];
  /** Whether it is exiting: nothing needs it any more, or it was told to stop. */
  readonly exiting: boolean;
  /** With `hold`: the ports it could not bind (then it bound none of the request's). */
  readonly refused?: readonly PortRefusal[];
  /** How many host ports it holds, after the request. */
  readonly heldPorts?: number;
}

/** The key of the companion's record in the state store: its process identity. */
export const COMPANION_KEY = 'companion';

/** The control socket of the companion serving the state directory `stateDir`. */
export function controlSocketPath(stateDir: string): string {
  return join(stateDir, 'companion.sock');
}

/** The companion's log file (its standard output and error). */
export function companionLogPath(stateDir: string): string {
  return join(stateDir, 'companion.log');
}

/** The longest path a Unix socket address holds on Linux (`sun_path` less its NUL). */
export const MAX_SOCKET_PATH = 107;

/**
 * Sends `request` to the companion at `socketPath` and resolves with its
 * reply, or undefined when no companion listens there (no socket, refused,
 * closed without a reply, or no reply within `timeoutMs`).
 */
export function controlRequest(socketPath: string, request: ControlRequest, timeoutMs: number): Promise<ControlReply | undefined> {
  return new Promise((resolve) => {
    let text = '';
    let settled = false;
    const done = (reply: ControlReply | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(reply);
    };
    const socket = connect(socketPath);
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => {
      text += chunk;
      const end = text.indexOf('\n');
      if (end >= 0) done(parseReply(text.slice(0, end)));
    });
    socket.on('error', () => done(undefined));
    socket.on('close', () => done(undefined));
  });
}

function parseReply(line: string): ControlReply | undefined {
  try {
    const value = JSON.parse(line) as Partial<ControlReply>;
    if (typeof value.ok !== 'boolean' || typeof value.pid !== 'number') return undefined;
    return {
      ok: value.ok,
      pid: value.pid,
      listening: Array.isArray(value.listening) ? value.listening : [],
      failed: Array.isArray(value.failed) ? value.failed : [],
      exiting: value.exiting === true,
      ...(Array.isArray(value.refused) ? { refused: value.refused } : {}),
      ...(typeof value.heldPorts === 'number' ? { heldPorts: value.heldPorts } : {}),
    };
  } catch {
    return undefined;
  }
}
