/**
 * The watcher of the "connect until the name resolves" workload, run inside
 * a container's namespace with `nsenter --net=PATH node poll.js SERVER`.
 * Prints `ready`, then for each line `go NAME` on standard input asks for
 * NAME's A record over and over, one query in flight, each sent as soon as
 * the previous one was answered (or refused, or unanswered after
 * {@link RETRY_MS}), until an answer holds an A record; then prints
 * `resolved NAME ADDRESS QUERIES`. For `gone NAME` it asks until the
 * answer is NXDOMAIN and prints `gone NAME QUERIES`. The caller times from
 * its own call to that line, on its own clock.
 */
import { createSocket } from 'node:dgram';
import { createInterface } from 'node:readline';
import dnsPacket from 'dns-packet';
import { rcode } from './load.js';

/** A query lost (a server rebinding its socket drops it) is sent again after this long. */
export const RETRY_MS = 20;

if (process.argv[1]?.endsWith('poll.js')) {
  const [server = ''] = process.argv.slice(2);
  const socket = createSocket('udp4');
  let id = 0;
  let asking: { name: string; until: 'resolved' | 'gone'; queries: number; timer?: NodeJS.Timeout } | undefined;
  const ask = () => {
    if (!asking) return;
    clearTimeout(asking.timer);
    id = (id + 1) & 0xffff;
    asking.queries += 1;
    asking.timer = setTimeout(ask, RETRY_MS);
    socket.send(dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: asking.name }] }));
  };
  socket.on('message', (message) => {
    if (!asking) return;
    let reply: dnsPacket.DecodedPacket;
    try {
      reply = dnsPacket.decode(message);
    } catch {
      return;
    }
    if (reply.id !== id) return;
    const address = (reply.answers ?? []).flatMap((a) => (a.type === 'A' ? [a.data] : []))[0];
    if (asking.until === 'resolved' && rcode(reply) === 0 && address !== undefined) {
      clearTimeout(asking.timer);
      process.stdout.write(`resolved ${asking.name} ${address} ${asking.queries}\n`);
      asking = undefined;
      return;
    }
    // NXDOMAIN (3): the name is unknown again.
    if (asking.until === 'gone' && rcode(reply) === 3) {
      clearTimeout(asking.timer);
      process.stdout.write(`gone ${asking.name} ${asking.queries}\n`);
      asking = undefined;
      return;
    }
    ask();
  });
  // ECONNREFUSED on the connected socket: nothing listens there right now; ask again at once.
  socket.on('error', () => setImmediate(ask));
  socket.connect(53, server, () => {
    process.stdout.write('ready\n');
    createInterface({ input: process.stdin }).on('line', (line) => {
      const [command, name] = line.trim().split(/\s+/);
      if ((command === 'go' || command === 'gone') && name) {
        asking = { name, until: command === 'go' ? 'resolved' : 'gone', queries: 0 };
        ask();
      }
    });
  });
  process.stdin.on('end', () => socket.close());
}
