import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { CliError, CliErrorCode } from '../cli-error.js';
import { formatDaemonAddress, type DaemonAddress } from './daemon-address.js';

/** Docker's `--tlscacert`, `--tlscert`, `--tlskey`: the PEM contents, read by the caller. */
export interface ClientTls {
  /** Docker's `--tlsverify`: check the daemon's certificate against `ca`; without it, TLS only encrypts. */
  readonly rejectUnauthorized: boolean;
  /** The CA that signed the daemon's certificate. */
  readonly ca?: string | Buffer;
  /** The client's certificate, which a daemon with `--tlsverify` asks for. */
  readonly cert?: string | Buffer;
  /** The client certificate's key. */
  readonly key?: string | Buffer;
}

/** What the daemon answered: the status and the parsed JSON body (undefined when empty). */
export interface Reply {
  readonly status: number;
  readonly body: unknown;
}

/** The largest reply body the client reads: a listing of many endpoints fits many times over. */
const MAX_REPLY_BYTES = 64 * 1024 * 1024;

/**
 * JSON over HTTP to one daemon, on a unix socket or TCP (TLS when `tls` is
 * given), with Node's own client. Connections are kept alive between the
 * calls of one command; `close()` lets them go.
 */
export class HttpChannel {
  readonly address: DaemonAddress;
  readonly #agent: HttpAgent;
  readonly #tls: ClientTls | undefined;

  constructor(address: DaemonAddress, tls?: ClientTls) {
    this.address = address;
    this.#tls = tls;
    this.#agent = tls ? new HttpsAgent({ keepAlive: true, ...tls }) : new HttpAgent({ keepAlive: true });
  }

  /** Sends one request and reads the whole reply. Throws `ERR_DAEMON_UNREACHABLE` or `ERR_DAEMON_RESPONSE`. */
  async call(method: string, path: string, body?: unknown): Promise<Reply> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const response = await this.#open(method, path, payload);
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of response as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > MAX_REPLY_BYTES) {
          response.destroy();
          throw this.#badReply(`${method} ${path}: the reply is larger than ${MAX_REPLY_BYTES} bytes`);
        }
        chunks.push(chunk);
      }
    } catch (error) {
      // The daemon went away in the middle of its reply (it was killed).
      throw error instanceof CliError ? error : this.#unreachable(error as NodeJS.ErrnoException);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    if (text === '') return { status: response.statusCode ?? 0, body: undefined };
    try {
      return { status: response.statusCode ?? 0, body: JSON.parse(text) as unknown };
    } catch {
      throw this.#badReply(`${method} ${path}: the reply (status ${response.statusCode}) is not JSON: ${text.slice(0, 200)}`);
    }
  }

  /**
   * Opens a streaming GET and hands every line of its body to `onLine`.
   * Resolves once the daemon has answered (from then on nothing it reports
   * is missed) with a function that ends the stream. The stream never keeps
   * the process alive.
   */
  async stream(path: string, onLine: (line: string) => void): Promise<() => void> {
    const response = await this.#open('GET', path, undefined, false);
    if (response.statusCode !== 200) {
      response.resume();
      throw this.#badReply(`GET ${path}: status ${response.statusCode}`);
    }
    response.socket.unref();
    let pending = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      pending += chunk;
      let end: number;
      while ((end = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, end).trim();
        pending = pending.slice(end + 1);
        if (line !== '') onLine(line);
      }
    });
    // The daemon going away ends the stream; the calls report it, not this.
    response.on('error', () => {});
    return () => response.destroy();
  }

  /** Lets the kept-alive connections go. */
  close(): void {
    this.#agent.destroy();
  }

  #open(method: string, path: string, payload: Buffer | undefined, pooled = true): Promise<IncomingMessage> {
    const where = this.address.kind === 'unix' ? { socketPath: this.address.path } : { host: this.address.host, port: this.address.port };
    const options: RequestOptions = {
      ...where,
      method,
      path,
      // A stream holds its connection for as long as it lives: not one of the pool's.
      agent: pooled ? this.#agent : false,
      headers: {
        accept: 'application/json',
        ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': payload.length }),
      },
      ...(pooled || !this.#tls ? {} : this.#tls),
    };
    return new Promise((resolve, reject) => {
      const req = (this.#tls ? httpsRequest : httpRequest)(options, resolve);
      req.once('error', (error: NodeJS.ErrnoException) => reject(this.#unreachable(error)));
      req.end(payload);
    });
  }

  #unreachable(error: NodeJS.ErrnoException): CliError {
    const where = formatDaemonAddress(this.address);
    return new CliError(CliErrorCode.DAEMON_UNREACHABLE, `cannot reach the netmode daemon at ${where}: ${error.message}`, undefined, {
      cause: error,
    });
  }

  #badReply(message: string): CliError {
    return new CliError(CliErrorCode.DAEMON_RESPONSE, `the netmode daemon at ${formatDaemonAddress(this.address)}: ${message}`);
  }
}
