import {
  ErrorCode,
  NetModeEmitter,
  NetModeError,
  type CheckReport,
  type ConnectOptions,
  type Endpoint,
  type GcOptions,
  type GcReport,
  type NameFileContents,
  type NetModeEventName,
  type NetnsRef,
  type NetworkRecord,
  type NetworkSpec,
  type ReconcileReport,
  type Sandbox,
} from '@netmode/core';
import { CliError, CliErrorCode } from '../cli-error.js';
import type { CliNetMode } from '../cli-netmode.js';
import type { HttpChannel, Reply } from './http-channel.js';

/** The prefix of netmode's own endpoints on the daemon (beside Docker's). */
export const API_PREFIX = '/netmode/v1';

/** What `GET /netmode/v1/info` says about the daemon. */
export interface DaemonInfo {
  /** The names of the drivers the daemon registered. */
  readonly drivers: readonly string[];
  /** The namespace that plays the host for the daemon. */
  readonly hostNetns: NetnsRef;
  /** The daemon's netmode version. */
  readonly version: string;
}

/** The error body of the daemon: Docker's `message`, netmode's `code` and context. */
interface ErrorBody {
  readonly message?: unknown;
  readonly code?: unknown;
  readonly context?: unknown;
}

/**
 * The SDK's manager as the CLI uses it, over HTTP to a `netmode daemon`:
 * each method is one request to netmode's own endpoints, and an error reply
 * is rebuilt into the `NetModeError` the daemon's manager threw (same code,
 * message and context), so the CLI prints and exits exactly as in-process.
 *
 * `events` is fed from the daemon's event stream once {@link watchEvents}
 * has been called; each event arrives as plain JSON (an `endpoint:failed`
 * event's error is rebuilt as a `NetModeError`).
 */
export class RemoteNetMode implements CliNetMode {
  readonly events = new NetModeEmitter();
  readonly #channel: HttpChannel;
  #watching: Promise<() => void> | undefined;

  constructor(channel: HttpChannel) {
    this.#channel = channel;
  }

  async connect(containerId: string, mode: string, options: ConnectOptions = {}): Promise<Endpoint> {
    return (await this.#call('POST', `${container(containerId)}/connect`, { mode, options }, 201)) as Endpoint;
  }

  async disconnect(containerId: string, network?: string): Promise<void> {
    await this.#call('POST', `${container(containerId)}/disconnect`, network === undefined ? {} : { network }, 204);
  }

  async inspect(containerId: string): Promise<Sandbox> {
    return (await this.#call('GET', container(containerId))) as Sandbox;
  }

  async inspectEndpoint(containerId: string, network?: string): Promise<Endpoint> {
    return (await this.#call('GET', `${container(containerId)}/endpoint${query(network)}`)) as Endpoint;
  }

  async nameFiles(containerId: string): Promise<NameFileContents> {
    return (await this.#call('GET', `${container(containerId)}/names`)) as NameFileContents;
  }

  async check(containerId: string, network?: string): Promise<CheckReport> {
    return (await this.#call('POST', `${container(containerId)}/check${query(network)}`, undefined)) as CheckReport;
  }

  async list(): Promise<Endpoint[]> {
    return (await this.#call('GET', `${API_PREFIX}/endpoints`)) as Endpoint[];
  }

  async createNetwork(spec: NetworkSpec): Promise<NetworkRecord> {
    return (await this.#call('POST', `${API_PREFIX}/networks`, spec, 201)) as NetworkRecord;
  }

  async removeNetwork(name: string): Promise<void> {
    await this.#call('DELETE', `${API_PREFIX}/networks/${encodeURIComponent(name)}`, undefined, 204);
  }

  async listNetworks(): Promise<NetworkRecord[]> {
    return (await this.#call('GET', `${API_PREFIX}/networks`)) as NetworkRecord[];
  }

  async inspectNetwork(name: string): Promise<NetworkRecord> {
    return (await this.#call('GET', `${API_PREFIX}/networks/${encodeURIComponent(name)}`)) as NetworkRecord;
  }

  async reconcile(): Promise<ReconcileReport> {
    return (await this.#call('POST', `${API_PREFIX}/reconcile`, undefined)) as ReconcileReport;
  }

  async gc(validContainerIds: readonly string[], options: GcOptions = {}): Promise<GcReport> {
    const body = { validContainerIds, ...(options.listedAt === undefined ? {} : { listedAt: options.listedAt.toISOString() }) };
    return (await this.#call('POST', `${API_PREFIX}/gc`, body)) as GcReport;
  }

  /** The daemon's drivers, host namespace and version. */
  async info(): Promise<DaemonInfo> {
    return (await this.#call('GET', `${API_PREFIX}/info`)) as DaemonInfo;
  }

  /**
   * Subscribes `events` to the daemon's event stream. Every later call waits
   * for the subscription, so what the daemon reports during it reaches
   * `events` (in practice before the call's own reply: the daemon writes the
   * event first). Idempotent.
   */
  watchEvents(): Promise<void> {
    this.#watching ??= this.#channel.stream(`${API_PREFIX}/events`, (line) => this.#emit(line));
    return this.#watching.then(() => undefined);
  }

  /** Ends the event stream and lets the connections go. */
  async close(): Promise<void> {
    const stop = await this.#watching?.catch(() => undefined);
    stop?.();
    this.#channel.close();
  }

  async #call(method: string, path: string, body?: unknown, expected = 200): Promise<unknown> {
    if (this.#watching) await this.#watching;
    const reply = await this.#channel.call(method, path, body ?? (method === 'GET' || method === 'DELETE' ? undefined : {}));
    if (reply.status === expected) return reply.body;
    throw errorOf(method, path, reply);
  }

  #emit(line: string): void {
    let parsed: { event?: unknown; payload?: unknown };
    try {
      parsed = JSON.parse(line) as typeof parsed;
    } catch {
      return; // a line we cannot read is not an event
    }
    if (typeof parsed.event !== 'string' || typeof parsed.payload !== 'object' || parsed.payload === null) return;
    let payload = parsed.payload as Record<string, unknown>;
    if (parsed.event === 'endpoint:failed' && typeof payload['error'] === 'object' && payload['error'] !== null) {
      payload = { ...payload, error: rebuild(payload['error'] as ErrorBody) ?? payload['error'] };
    }
    // The daemon's emitter names the events; the payloads are its manager's, as JSON.
    (this.events.emit as (event: NetModeEventName, payload: unknown) => boolean)(parsed.event as NetModeEventName, payload);
  }
}

function container(id: string): string {
  return `${API_PREFIX}/containers/${encodeURIComponent(id)}`;
}

function query(network: string | undefined): string {
  return network === undefined ? '' : `?network=${encodeURIComponent(network)}`;
}

/** A daemon's error body as the error its manager threw; undefined when the body is not one. */
function rebuild(body: ErrorBody): NetModeError | undefined {
  if (typeof body.code !== 'string' || !body.code.startsWith('ERR_') || typeof body.message !== 'string') return undefined;
  const context = typeof body.context === 'object' && body.context !== null ? (body.context as Record<string, unknown>) : {};
  // The daemon may know codes this client does not (a newer netmode): kept as they are.
  const error = new NetModeError(body.code as ErrorCode, body.message, { context });
  if (typeof context['rolledBack'] === 'boolean') error.rolledBack = context['rolledBack'];
  return error;
}

function errorOf(method: string, path: string, reply: Reply): Error {
  const body = (typeof reply.body === 'object' && reply.body !== null ? reply.body : {}) as ErrorBody;
  const rebuilt = rebuild(body);
  if (rebuilt) return rebuilt;
  const message = typeof body.message === 'string' ? body.message : JSON.stringify(reply.body);
  return new CliError(
    CliErrorCode.DAEMON_RESPONSE,
    `the netmode daemon answered ${method} ${path} with status ${reply.status}: ${message}`,
  );
}
