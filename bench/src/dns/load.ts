/**
 * The query load generator of the DNS workload, run inside a container's
 * namespace with `nsenter --net=PATH node load.js JSON` (see
 * {@link LoadParams}). Each of `concurrency` UDP sockets, connected to the
 * server, keeps one query in flight: send, wait for the answer (or
 * `timeoutMs`), send the next. Queries answered during the warm-up are not
 * counted. Prints one JSON line, a {@link LoadResult}.
 */
import { createSocket, type Socket } from 'node:dgram';
import dnsPacket from 'dns-packet';

export interface LoadParams {
  readonly server: string;
  readonly name: string;
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** A query unanswered after this long is counted as lost and the next one sent. */
  readonly timeoutMs: number;
}

export interface LoadResult {
  /** Answered queries in the timed part, per second of it. */
  readonly qps: number;
  readonly answered: number;
  readonly lost: number;
  /** Answers whose rcode was not NOERROR or that held no A record: a misconfigured run, not a sample. */
  readonly wrong: number;
  /** Latency of the answered queries, milliseconds. */
  readonly medianMs: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** The first answer's A records, to show what was asked resolved. */
  readonly sample: readonly string[];
}

/** The response code, the low four bits of the flags (0: NOERROR). */
export function rcode(packet: dnsPacket.DecodedPacket): number {
  return (packet.flags ?? 0) & 0xf;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

async function run(params: LoadParams): Promise<LoadResult> {
  const latencies: number[] = [];
  let lost = 0;
  let wrong = 0;
  let sample: string[] = [];
  const started = performance.now();
  const timedFrom = started + params.warmupMs;
  const end = timedFrom + params.durationMs;

  const slot = (index: number) =>
    new Promise<void>((done, fail) => {
      const socket: Socket = createSocket('udp4');
      let id = index;
      let sentAt = 0;
      let timer: NodeJS.Timeout | undefined;
      const next = () => {
        if (performance.now() >= end) {
          socket.close();
          done();
          return;
        }
        id = (id + params.concurrency) & 0xffff;
        const query = dnsPacket.encode({
          type: 'query',
          id,
          flags: dnsPacket.RECURSION_DESIRED,
          questions: [{ type: 'A', name: params.name }],
        });
        sentAt = performance.now();
        timer = setTimeout(() => {
          if (sentAt >= timedFrom) lost += 1;
          next();
        }, params.timeoutMs);
        socket.send(query);
      };
      socket.on('message', (message) => {
        let reply: dnsPacket.DecodedPacket;
        try {
          reply = dnsPacket.decode(message);
        } catch {
          return;
        }
        // A late answer to a query already counted as lost.
        if (reply.id !== id) return;
        const now = performance.now();
        clearTimeout(timer);
        const addresses = (reply.answers ?? []).flatMap((a) => (a.type === 'A' ? [a.data] : []));
        if (sentAt >= timedFrom) {
          if (rcode(reply) !== 0 || addresses.length === 0) wrong += 1;
          else latencies.push(now - sentAt);
        }
        if (sample.length === 0) sample = addresses;
        next();
      });
      // A refused port (no server yet) is an answer of sorts: count it and go on.
      socket.on('error', () => {
        clearTimeout(timer);
        if (sentAt >= timedFrom) wrong += 1;
        next();
      });
      socket.connect(53, params.server, () => next());
      socket.once('close', () => clearTimeout(timer));
      void fail;
    });

  await Promise.all(Array.from({ length: params.concurrency }, (_, i) => slot(i)));
  const sorted = Float64Array.from(latencies).sort();
  const timedS = (Math.min(performance.now(), end) - timedFrom) / 1000;
  return {
    qps: latencies.length / timedS,
    answered: latencies.length,
    lost,
    wrong,
    medianMs: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.length > 0 ? (sorted[sorted.length - 1] as number) : Number.NaN,
    sample,
  };
}

if (process.argv[1]?.endsWith('load.js')) {
  run(JSON.parse(process.argv[2] ?? '{}') as LoadParams).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (error: unknown) => {
      process.stdout.write(`${JSON.stringify({ error: String(error) })}\n`);
      process.exitCode = 1;
    },
  );
}
