import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { containerEndpoints, listEndpoints, listNetworks } from '../manager/state.js';
import { withoutOperator } from '../manager/records.js';
import type { Endpoint, PortProtocol } from '../model/endpoint.js';
import { endpointOwner } from '../model/owner.js';
import type { NetworkRecord } from '../model/network.js';
import { COMPANION_KEY, controlSocketPath, type ControlReply, type ControlRequest } from '../names/companion-control.js';
import { upstreamsFor } from '../names/name-files.js';
import { readHostResolvConf } from '../names/name-service.js';
import { buildNameTable, type NameTable } from '../names/name-table.js';
import { listWithin } from '../ports/port-allocator.js';
import type { PortLease } from '../ports/types.js';
import type { StateStore, StateTransaction } from '../store/state-store.js';
import { HeldPorts, type ProxyTarget } from './held-ports.js';

/** What answers DNS from a {@link NameTable}: the embedded DNS server, or a stand-in in tests. */
export interface TableServer {
  /** Serves `table` from now on; reports the addresses it listens on and those it could not. */
  update(
    table: NameTable,
  ): Promise<{ readonly listening: readonly string[]; readonly failed: readonly { address: string; error: string }[] }>;
  /** Closes every listener. */
  close(): Promise<void>;
}

/** Settings of one companion process. */
export interface CompanionSettings {
  /** The state directory it serves. */
  readonly stateDir: string;
  /** The host's `resolv.conf`: where questions go that no `dns` setting sends elsewhere. */
  readonly hostResolvConf: string;
  /** Writes one line to the companion's log. */
  readonly log: (line: string) => void;
  /** How long it stays once nothing needs it, in milliseconds. */
  readonly idleExitMs: number;
  /** How long a port bound by `hold` waits for its lease to show in the records, in milliseconds. Default 120 000. */
  readonly pendingHoldMs?: number;
}

// A reload every so often catches a change whose process died before it
// could say so; the state directory going away ends the companion.
const SAFETY_RELOAD_MS = 30_000;
const STATE_DIR_CHECK_MS = 5_000;

/**
 * The per-host companion process: one per host namespace and state
 * directory, started on demand by the SDK (`NameService.sync`,
 * `NameService.ensureCompanion`), found again through its socket and its
 * `companion` record, restarted by `reconcile()`. It hosts the embedded DNS
 * server and holds the published host ports (with the userland proxy in
 * them: {@link HeldPorts}); it reads every record it serves from out of the
 * state, so it outlives the SDK's processes, and it exits once no network
 * has needed its server and no port has been published for a while
 * (`idleExitMs`, 5 s from the SDK).
 */
export class Companion {
  readonly #settings: CompanionSettings;
  readonly #store: StateStore;
  readonly #server: TableServer;
  #control: Server | undefined;
  #exiting = false;
  #last: Omit<ControlReply, 'ok' | 'pid' | 'exiting'> = { listening: [], failed: [] };
  readonly #timers: NodeJS.Timeout[] = [];
  #idleTimer: NodeJS.Timeout | undefined;
  // What the server answers from: the records as last read, by container.
  #networks: NetworkRecord[] = [];
  #endpoints = new Map<string, Endpoint[]>();
  #loaded = false;
  // The reload that will take the requests that come now, and the one running.
  #next: Promise<void> | undefined;
  #running: Promise<void> = Promise.resolve();
  #pendingFull = false;
  readonly #pendingIds = new Set<string>();
  readonly #ports: HeldPorts;
  #leases: PortLease[] = [];
  // Whether the last reload found a network that needs the DNS server.
  #servesNames = false;
  readonly #exited: Promise<void>;
  #exit!: () => void;

  constructor(settings: CompanionSettings, store: StateStore, server: TableServer) {
    this.#settings = settings;
    this.#store = store;
    this.#server = server;
    this.#exited = new Promise((resolve) => (this.#exit = resolve));
    this.#ports = new HeldPorts({
      targetOf: (owner, protocol, hostIp, hostPort) => this.#targetOf(owner, protocol, hostIp, hostPort),
      log: settings.log,
      ...(settings.pendingHoldMs === undefined ? {} : { pendingMs: settings.pendingHoldMs }),
    });
  }

  /** Resolves when the companion has shut down. */
  get exited(): Promise<void> {
    return this.#exited;
  }

  /** Opens the control socket (replacing a dead companion's) and serves the table the state holds now. */
  async start(): Promise<void> {
    const path = controlSocketPath(this.#settings.stateDir);
    // The SDK starts a companion only under the state lock after finding
    // none alive, so a socket file here is a dead one's.
    await rm(path, { force: true });
    const control = createServer((socket) => this.#serve(socket));
    await new Promise<void>((resolve, reject) => {
      control.once('error', reject);
      control.listen(path, () => resolve());
    });
    this.#control = control;
    this.#timers.push(setInterval(() => void this.reload(), SAFETY_RELOAD_MS).unref());
    this.#timers.push(
      setInterval(() => {
        if (!existsSync(this.#settings.stateDir)) void this.shutdown('its state directory is gone');
      }, STATE_DIR_CHECK_MS).unref(),
    );
    this.#settings.log(`companion ${process.pid} serving ${this.#settings.stateDir}`);
    await this.reload();
  }

  /**
   * Reads the records again and serves them: every record, or (with
   * `containerId`) that container's and the networks. Requests that come
   * while a reload runs share the next one; each resolves once the server
   * answers from records read after it was made. When no network needs the
   * server any more, the companion exits `idleExitMs` later unless one
   * needs it again by then.
   */
  reload(containerId?: string): Promise<void> {
    if (containerId === undefined) this.#pendingFull = true;
    else this.#pendingIds.add(containerId);
    if (!this.#next) {
      const next = this.#running.then(() => {
        this.#next = undefined;
        const full = this.#pendingFull || !this.#loaded;
        const ids = [...this.#pendingIds];
        this.#pendingFull = false;
        this.#pendingIds.clear();
        return this.#reload(full, ids);
      });
      this.#next = next;
      this.#running = next.catch(() => undefined);
    }
    return this.#next;
  }

  async #reload(full: boolean, containerIds: readonly string[]): Promise<void> {
    if (this.#exiting) return;
    try {
      this.#networks = (await listNetworks(this.#store)).records.map((r) => withoutOperator<NetworkRecord>(r.value));
      this.#leases = (await listWithin(this.#store)).filter((lease) => lease.unheld !== true);
      if (full) {
        const byContainer = new Map<string, Endpoint[]>();
        for (const { value } of (await listEndpoints(this.#store)).records) {
          byContainer.set(value.containerId, [...(byContainer.get(value.containerId) ?? []), withoutOperator<Endpoint>(value)]);
        }
        this.#endpoints = byContainer;
        this.#loaded = true;
      } else {
        for (const containerId of containerIds) {
          const endpoints = (await containerEndpoints(this.#store, containerId)).map((e) => withoutOperator<Endpoint>(e));
          if (endpoints.length > 0) this.#endpoints.set(containerId, endpoints);
          else this.#endpoints.delete(containerId);
        }
      }
    } catch (error) {
      this.#settings.log(`cannot read the state: ${String(error)}`);
      // A record that cannot be read: read everything next time.
      this.#loaded = false;
      return;
    }
    const host = readHostResolvConf(this.#settings.hostResolvConf);
    const table = buildNameTable(this.#networks, [...this.#endpoints.values()].flat(), (names) => upstreamsFor(names, host));
    await this.#ports.sync(this.#leases);
    this.#servesNames = table.networks.length > 0;
    this.#idleCheck();
    const report = await this.#server.update(table);
    this.#last = { listening: [...report.listening], failed: [...report.failed] };
    for (const failure of report.failed) this.#settings.log(`cannot listen on ${failure.address}: ${failure.error}`);
  }

  /**
   * Idle: nothing needs the server now and no port is held. The companion
   * stays a while (a container that goes is often followed by one that
   * comes: a restart, a connect–disconnect loop), then exits if nothing came.
   */
  #idleCheck(): void {
    if (this.#servesNames || this.#leases.length > 0 || this.#ports.size > 0) {
      clearTimeout(this.#idleTimer);
      this.#idleTimer = undefined;
    } else {
      // From the first idle reload on: later ones (a reconcile loop) do not put it off.
      this.#idleTimer ??= setTimeout(() => void this.#exitIfIdle(), this.#settings.idleExitMs).unref();
    }
  }

  /**
   * What a connect or disconnect of a container on a network without the
   * DNS server needs: that container's records (where its proxied ports
   * lead) and the port leases, held or let go. No name table is built: a
   * publish costs the same with 10 or 1 000 endpoints and networks.
   */
  #portsOf(containerId: string): Promise<void> {
    const work = this.#running.then(async () => {
      if (this.#exiting) return;
      try {
        const endpoints = (await containerEndpoints(this.#store, containerId)).map((e) => withoutOperator<Endpoint>(e));
        if (endpoints.length > 0) this.#endpoints.set(containerId, endpoints);
        else this.#endpoints.delete(containerId);
        this.#leases = (await listWithin(this.#store)).filter((lease) => lease.unheld !== true);
      } catch (error) {
        this.#settings.log(`cannot read the state: ${String(error)}`);
        this.#loaded = false;
        return;
      }
      await this.#ports.sync(this.#leases);
      this.#idleCheck();
    });
    this.#running = work.catch(() => undefined);
    return work;
  }

  /** Exits when, under the state lock, still nothing needs the server. */
  async #exitIfIdle(): Promise<void> {
    if (this.#exiting) return;
    // Decided under the lock: a connect that writes its record after this
    // finds no companion and starts a new one.
    const idle = await this.#store
      .transaction(async (tx) => {
        if ((await this.#table(tx)).networks.length > 0) return false;
        if ((await listWithin(tx)).some((lease) => lease.unheld !== true) || this.#ports.size > 0) return false;
        const record = await tx.get<{ pid?: number }>(COMPANION_KEY);
        if (record?.pid === process.pid) tx.delete(COMPANION_KEY);
        this.#exiting = true;
        this.#control?.close();
        // The listeners go before the lock does: a companion started next can bind them.
        await this.#server.close();
        await this.#ports.close();
        return true;
      })
      .catch(() => false);
    this.#idleTimer = undefined;
    if (idle) await this.shutdown('no network needs it');
    else void this.reload();
  }

  /** Closes the server and the control socket, and lets the process end. */
  async shutdown(reason: string): Promise<void> {
    if (this.#control === undefined && this.#exiting) return;
    this.#exiting = true;
    this.#settings.log(`companion ${process.pid} exits: ${reason}`);
    for (const timer of this.#timers) clearInterval(timer);
    clearTimeout(this.#idleTimer);
    const control = this.#control;
    this.#control = undefined;
    control?.close();
    await this.#server.close();
    await this.#ports.close();
    try {
      await this.#store.transaction(async (tx) => {
        const record = await tx.get<{ pid?: number }>(COMPANION_KEY);
        if (record?.pid === process.pid) tx.delete(COMPANION_KEY);
      });
    } catch {
      // The state directory may be gone: nothing left to tidy.
    }
    await rm(controlSocketPath(this.#settings.stateDir), { force: true }).catch(() => undefined);
    this.#exit();
  }

  async #table(reader: StateStore | StateTransaction): Promise<NameTable> {
    const networks: NetworkRecord[] = (await listNetworks(reader)).records.map((r) => withoutOperator<NetworkRecord>(r.value));
    const endpoints: Endpoint[] = (await listEndpoints(reader)).records.map((r) => withoutOperator<Endpoint>(r.value));
    const host = readHostResolvConf(this.#settings.hostResolvConf);
    return buildNameTable(networks, endpoints, (names) => upstreamsFor(names, host));
  }

  #serve(socket: Socket): void {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: string) => {
      text += chunk;
      // A hold names one lease per published range: a megabyte is thousands.
      if (text.length > 1_048_576) socket.destroy();
      const end = text.indexOf('\n');
      if (end < 0) return;
      let request: ControlRequest;
      try {
        request = JSON.parse(text.slice(0, end)) as ControlRequest;
      } catch {
        socket.destroy();
        return;
      }
      void this.#answer(request).then(
        (reply) => socket.end(`${JSON.stringify(reply)}\n`),
        () => socket.destroy(),
      );
    });
  }

  async #answer(request: ControlRequest): Promise<ControlReply> {
    let refused: ControlReply['refused'];
    if (request.op === 'reload' && !this.#exiting)
      await this.reload(typeof request.containerId === 'string' ? request.containerId : undefined);
    if (request.op === 'hold' && !this.#exiting && typeof request.owner === 'string' && Array.isArray(request.leases)) {
      refused = await this.#ports.hold(request.owner, request.leases);
      // A hold keeps the companion: the connect that made it is about to commit.
      clearTimeout(this.#idleTimer);
      this.#idleTimer = undefined;
    }
    if (request.op === 'release' && typeof request.owner === 'string') await this.#ports.release(request.owner);
    if (request.op === 'ports' && !this.#exiting && typeof request.containerId === 'string') await this.#portsOf(request.containerId);
    if (request.op === 'stop') void this.shutdown('asked to stop');
    const exiting = this.#exiting || request.op === 'stop';
    return { ok: !exiting, pid: process.pid, exiting, ...this.#last, ...(refused ? { refused } : {}), heldPorts: this.#ports.size };
  }

  /** Where a proxied port of `owner` leads, from the endpoint records last read. */
  #targetOf(owner: string, protocol: PortProtocol, hostIp: string | undefined, hostPort: number): ProxyTarget | undefined {
    for (const endpoints of this.#endpoints.values()) {
      const endpoint = endpoints.find((e) => endpointOwner(e.id) === owner);
      if (!endpoint) continue;
      const address = endpoint.addresses.find((a) => !a.includes(':'))?.split('/')[0];
      const mapping = endpoint.ports.find(
        (p) =>
          (p.protocol ?? 'tcp') === protocol &&
          p.hostIp === hostIp &&
          p.hostPort !== undefined &&
          hostPort >= p.hostPort &&
          hostPort < p.hostPort + (p.count ?? 1),
      );
      if (address === undefined || !mapping) return undefined;
      return { address, port: mapping.containerPort + (hostPort - (mapping.hostPort as number)) };
    }
    return undefined;
  }
}
