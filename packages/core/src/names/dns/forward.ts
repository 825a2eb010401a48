import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect, isIPv6 } from 'node:net';
import type { Upstream } from './name-index.js';
import { answersQuestion, withId } from './wire.js';

/**
 * Asking upstream servers the questions that are not the embedded server's
 * own, the way a stub forwarder does: one at a time, in order, each with a
 * timeout, over the transport the asker used.
 *
 * @module
 */

/** How to forward one query. */
export interface ForwardRequest {
  /** The query as the asker sent it. */
  readonly message: Buffer;
  /** Its question section, which an answer must repeat. */
  readonly questionBytes: Buffer;
  /** Servers to try, in order. */
  readonly upstreams: readonly Upstream[];
  /** UDP for a question that came over UDP, TCP for one that came over TCP. */
  readonly transport: 'udp' | 'tcp';
  /** How long to wait for each server. */
  readonly timeoutMs: number;
  /** Aborts every attempt (the server closes). */
  readonly signal: AbortSignal;
}

/**
 * The first matching answer from `request.upstreams`, still under the id it
 * was asked with (the caller restores the asker's), or undefined when none
 * answered in time. Never rejects.
 */
export async function forwardQuery(request: ForwardRequest): Promise<Buffer | undefined> {
  for (const upstream of request.upstreams) {
    if (request.signal.aborted) return undefined;
    // A fresh id (and, over UDP, a fresh source port) per attempt, so an off-path
    // sender has to guess both to slip a forged answer in.
    const id = randomInt(0, 0x10000);
    const ask = request.transport === 'udp' ? askOverUdp : askOverTcp;
    const answer = await ask(
      upstream,
      withId(request.message, id),
      (response) => answersQuestion(response, id, request.questionBytes),
      request,
    );
    if (answer !== undefined) return answer;
  }
  return undefined;
}

type Matches = (response: Buffer) => boolean;

function attempt(request: ForwardRequest, run: (finish: (answer: Buffer | undefined) => void) => () => void): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    let done = false;
    let release = (): void => {};
    const finish = (answer: Buffer | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      request.signal.removeEventListener('abort', onAbort);
      release();
      resolve(answer);
    };
    const onAbort = (): void => finish(undefined);
    const timer = setTimeout(onAbort, request.timeoutMs);
    request.signal.addEventListener('abort', onAbort, { once: true });
    try {
      release = run(finish);
    } catch {
      finish(undefined);
    }
    if (done) release();
  });
}

function askOverUdp(upstream: Upstream, packet: Buffer, matches: Matches, request: ForwardRequest): Promise<Buffer | undefined> {
  return attempt(request, (finish) => {
    const socket = createSocket(isIPv6(upstream.address) ? 'udp6' : 'udp4');
    // A connected socket also hears ICMP port-unreachable as an error, so a
    // server that is gone costs no timeout.
    socket.on('error', () => finish(undefined));
    socket.on('message', (response, from) => {
      if (from.address !== upstream.address || from.port !== upstream.port) return;
      if (matches(response)) finish(response);
    });
    socket.connect(upstream.port, upstream.address, () => {
      try {
        socket.send(packet, (error) => {
          if (error) finish(undefined);
        });
      } catch {
        finish(undefined);
      }
    });
    return () => {
      try {
        socket.close();
      } catch {
        // Already closed.
      }
    };
  });
}

const TCP_LENGTH_SIZE = 2;

function askOverTcp(upstream: Upstream, packet: Buffer, matches: Matches, request: ForwardRequest): Promise<Buffer | undefined> {
  return attempt(request, (finish) => {
    const socket = connect({ host: upstream.address, port: upstream.port });
    const length = Buffer.alloc(TCP_LENGTH_SIZE);
    length.writeUInt16BE(packet.length);
    let buffered = Buffer.alloc(0);
    socket.setNoDelay(true);
    socket.on('connect', () => socket.write(Buffer.concat([length, packet])));
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= TCP_LENGTH_SIZE) {
        const size = buffered.readUInt16BE(0);
        if (buffered.length < TCP_LENGTH_SIZE + size) return;
        const response = buffered.subarray(TCP_LENGTH_SIZE, TCP_LENGTH_SIZE + size);
        buffered = buffered.subarray(TCP_LENGTH_SIZE + size);
        if (matches(response)) {
          finish(Buffer.from(response));
          return;
        }
      }
    });
    socket.on('error', () => finish(undefined));
    socket.on('close', () => finish(undefined));
    return () => socket.destroy();
  });
}
