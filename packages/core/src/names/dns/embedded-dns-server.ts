import { setMaxListeners } from 'node:events';
import type { NameTable } from '../name-table.js';
import { AddressListener } from './address-listener.js';
import { decideAnswer } from './decide-answer.js';
import { forwardQuery } from './forward.js';
import { findAsker, indexNameTable, type NameIndex } from './name-index.js';
import { MAX_TCP_SIZE, RCODE, encodeReply, readQuery, relayUpstreamAnswer, type ParsedQuery } from './wire.js';

/**
 * The embedded DNS server: answers the containers on each served network
 * with the names of the containers they share a network with, and forwards
 * their other questions (podman's aardvark-dns model: one server, a
 * listener at each network's gateway address).
 *
 * @module
 */

/** Settings of an {@link EmbeddedDnsServer}. */
export interface EmbeddedDnsOptions {
  /** Port to listen on at each network's address; default 53 (tests use a high port). */
  readonly port?: number;
  /** How long to wait for one upstream before trying the next (ms); default 2000. After the last, SERVFAIL. */
  readonly upstreamTimeoutMs?: number;
  /** Called with one line per notable event (a listener failed, a malformed query dropped); default: nothing. */
  readonly log?: (line: string) => void;
}

/** An address of the table the server could not listen on. */
export interface EmbeddedDnsListenFailure {
  /** The network's address. */
  readonly address: string;
  /** Why, starting with the error code when there is one (`EADDRINUSE: …`). */
  readonly error: string;
}

/** What {@link EmbeddedDnsServer.update} achieved. */
export interface EmbeddedDnsUpdate {
  /** Every address the server now listens on, in the table's order. */
  readonly listening: readonly string[];
  /** Addresses it could not listen on; tried again on the next update. */
  readonly failed: readonly EmbeddedDnsListenFailure[];
}

const DEFAULT_PORT = 53;
const DEFAULT_UPSTREAM_TIMEOUT_MS = 2000;
const TCP_IDLE_TIMEOUT_MS = 10_000;
const MAX_TCP_CONNECTIONS = 128;
const MAX_PIPELINED_PER_CONNECTION = 16;
// Each forward holds a socket until answered or timed out; past this, a
// flood of questions gets SERVFAIL instead of the host's file descriptors.
const MAX_FORWARDS_IN_FLIGHT = 1024;
// A container sending garbage in a loop must not fill the log.
const LOG_LINES_PER_SECOND = 20;

/**
 * An embedded DNS server. One per host: {@link update} gives it the current
 * {@link NameTable} and it listens at every network's address in it.
 *
 * It is never an open resolver: a message from an address that is not a
 * container on the listener's network gets no reply at all, and a UDP reply
 * is never larger than the question allows.
 */
export class EmbeddedDnsServer {
  private readonly port: number;
  private readonly upstreamTimeoutMs: number;
  private readonly log: (line: string) => void;
  private readonly listeners = new Map<string, AddressListener>();
  private readonly stopped = new AbortController();
  private index: NameIndex = indexNameTable({ networks: [], sandboxes: [] });
  private updating: Promise<unknown> = Promise.resolve();
  private forwardsInFlight = 0;
  private logWindowStart = 0;
  private logLinesInWindow = 0;

  constructor(options: EmbeddedDnsOptions = {}) {
    // Every forward in flight listens for the close; that many is expected, not a leak.
    setMaxListeners(MAX_FORWARDS_IN_FLIGHT + 1, this.stopped.signal);
    this.port = options.port ?? DEFAULT_PORT;
    this.upstreamTimeoutMs = options.upstreamTimeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS;
    const log = options.log ?? (() => {});
    this.log = (line) => this.limitedLog(log, line);
  }

  /**
   * Applies a table: opens UDP+TCP listeners for networks new in it, closes
   * those gone, answers from it at once. Resolves when listeners are bound;
   * reports per-address failures (EADDRINUSE, EADDRNOTAVAIL) instead of
   * throwing. Listener changes run one at a time; each resolves with the
   * listeners of the newest table given so far.
   */
  update(table: NameTable): Promise<EmbeddedDnsUpdate> {
    if (this.stopped.signal.aborted) {
      return Promise.resolve({ listening: [], failed: table.networks.map((n) => ({ address: n.address, error: 'server closed' })) });
    }
    // Answer from the new table at once, on the listeners already open, even
    // while an earlier update still binds; a query in flight keeps the index
    // it started with.
    this.index = indexNameTable(table, this.log);
    // Each run brings the listeners in line with the newest table, so a run
    // queued behind a slow bind never reopens what a later table dropped.
    const run = this.updating.then(() => this.apply());
    this.updating = run.catch(() => {});
    return run;
  }

  private async apply(): Promise<EmbeddedDnsUpdate> {
    const wanted = new Set(this.index.networkByAddress.keys());
    const gone = [...this.listeners.keys()].filter((address) => !wanted.has(address));
    await Promise.all(gone.map((address) => this.closeListener(address)));
    const failures: (EmbeddedDnsListenFailure | undefined)[] = await Promise.all(
      [...wanted]
        .filter((address) => !this.listeners.has(address))
        .map(async (address) => {
          try {
            const listener = await AddressListener.open(
              address,
              this.port,
              (message, source, transport) => this.answer(address, message, source, transport),
              { idleTimeoutMs: TCP_IDLE_TIMEOUT_MS, maxConnections: MAX_TCP_CONNECTIONS, maxPipelined: MAX_PIPELINED_PER_CONNECTION },
              this.log,
            );
            if (this.stopped.signal.aborted) await listener.close();
            else this.listeners.set(address, listener);
            return undefined;
          } catch (error) {
            const reason = describe(error);
            this.log(`dns ${address}:${this.port}: cannot listen: ${reason}`);
            return { address, error: reason };
          }
        }),
    );
    // In the table's order, whatever order the binds finished in.
    return {
      listening: [...wanted].filter((address) => this.listeners.has(address)),
      failed: failures.filter((f): f is EmbeddedDnsListenFailure => f !== undefined),
    };
  }

  /** Closes every listener and in-flight forward. */
  async close(): Promise<void> {
    this.stopped.abort();
    await this.updating;
    await Promise.all([...this.listeners.keys()].map((address) => this.closeListener(address)));
  }

  private async closeListener(address: string): Promise<void> {
    const listener = this.listeners.get(address);
    this.listeners.delete(address);
    await listener?.close();
  }

  /** The reply to one message that reached `listenerAddress`; never rejects. */
  private async answer(listenerAddress: string, message: Buffer, source: string, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    try {
      const index = this.index;
      const networkId = index.networkByAddress.get(listenerAddress);
      // Who asks is checked before a byte of the message is read.
      if (networkId === undefined || findAsker(index, networkId, source) === undefined) return undefined;
      const read = readQuery(message);
      if (read.kind !== 'query') {
        this.log(
          `dns ${listenerAddress}: ${read.kind === 'drop' ? 'dropped' : 'answered with an error'} a message from ${source}: ${read.reason}`,
        );
        return read.kind === 'reply' ? read.reply : undefined;
      }
      const { query } = read;
      const limit = transport === 'udp' ? query.udpLimit : MAX_TCP_SIZE;
      const decision = decideAnswer(index, { networkId, source, question: query.question });
      switch (decision.action) {
        case 'drop':
          return undefined;
        case 'answer':
          return encodeReply(query, { rcode: RCODE.NOERROR, answers: decision.answers, authoritative: true }, limit);
        case 'refuse':
          return encodeReply(query, { rcode: RCODE.REFUSED }, limit);
        case 'forward':
          return await this.forward(message, query, decision.upstreams, transport, limit);
      }
    } catch (error) {
      this.log(`dns ${listenerAddress}: a message from ${source} failed: ${describe(error)}`);
      return undefined;
    }
  }

  private async forward(
    message: Buffer,
    query: ParsedQuery,
    upstreams: Parameters<typeof forwardQuery>[0]['upstreams'],
    transport: 'udp' | 'tcp',
    limit: number,
  ): Promise<Buffer> {
    if (this.forwardsInFlight >= MAX_FORWARDS_IN_FLIGHT) return encodeReply(query, { rcode: RCODE.SERVFAIL }, limit);
    this.forwardsInFlight += 1;
    try {
      const response = await forwardQuery({
        message,
        questionBytes: query.questionBytes,
        upstreams,
        transport,
        timeoutMs: this.upstreamTimeoutMs,
        signal: this.stopped.signal,
      });
      return response === undefined ? encodeReply(query, { rcode: RCODE.SERVFAIL }, limit) : relayUpstreamAnswer(response, query, limit);
    } finally {
      this.forwardsInFlight -= 1;
    }
  }

  private limitedLog(log: (line: string) => void, line: string): void {
    const write = (text: string): void => {
      try {
        log(text);
      } catch {
        // A failing log must not stop an answer.
      }
    };
    const now = Date.now();
    if (now - this.logWindowStart >= 1000) {
      const suppressed = this.logLinesInWindow - LOG_LINES_PER_SECOND;
      if (suppressed > 0) write(`dns: ${suppressed} more lines suppressed`);
      this.logWindowStart = now;
      this.logLinesInWindow = 0;
    }
    this.logLinesInWindow += 1;
    if (this.logLinesInWindow <= LOG_LINES_PER_SECOND) write(line);
  }
}

function describe(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}
