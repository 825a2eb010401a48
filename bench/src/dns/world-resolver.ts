/**
 * The outside world's resolver of the DNS workload, run in the world
 * namespace with `nsenter --net=PATH node world-resolver.js ADDRESS`. Over
 * UDP on ADDRESS:53 it answers `A` of {@link OUTSIDE_NAME} with
 * {@link OUTSIDE_ADDRESS} and NXDOMAIN for every other name, at once: what a
 * forwarded query costs is then the embedded server's forwarding, not a
 * recursive lookup. Prints `ready` once bound.
 */
import { createSocket } from 'node:dgram';
import dnsPacket from 'dns-packet';

export const OUTSIDE_NAME = 'outside.bench';
export const OUTSIDE_ADDRESS = '10.237.254.77';

function answer(message: Buffer): Buffer | undefined {
  let query: dnsPacket.DecodedPacket;
  try {
    query = dnsPacket.decode(message);
  } catch {
    return undefined;
  }
  const question = query.questions?.[0];
  if (!question) return undefined;
  const known = question.name.toLowerCase() === OUTSIDE_NAME;
  return dnsPacket.encode({
    type: 'response',
    id: query.id ?? 0,
    // NXDOMAIN (3) for names it does not know.
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (known ? 0 : 3),
    questions: [question],
    answers: known && question.type === 'A' ? [{ type: 'A', name: question.name, ttl: 60, data: OUTSIDE_ADDRESS }] : [],
  });
}

// Only when run as a script: the workload imports the constants above.
if (process.argv[1]?.endsWith('world-resolver.js')) {
  const [address] = process.argv.slice(2);
  const udp = createSocket('udp4');
  udp.on('message', (message, peer) => {
    const reply = answer(message);
    if (reply) udp.send(reply, peer.port, peer.address);
  });
  udp.bind(53, address, () => process.stdout.write('ready\n'));
}
