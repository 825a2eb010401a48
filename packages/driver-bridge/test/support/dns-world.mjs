// The outside world's resolver for the names tests, run in the outside-world
// namespace with `nsenter --net=PATH node dns-world.mjs ADDRESS`. It listens
// on ADDRESS:53 over UDP and TCP and knows:
//   outside.test  A 10.231.254.77
//   big.test      300 A records (about 4.8 KB: over UDP always truncated)
// and answers NXDOMAIN for everything else. Every question it gets is
// printed as `asked NAME TYPE over udp|tcp`, so a test can tell what reached it.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import dnsPacket from 'dns-packet';

const [address] = process.argv.slice(2);
const BIG = Array.from({ length: 300 }, (_, i) => `10.99.${Math.floor(i / 250)}.${(i % 250) + 1}`);

function answer(query, limit) {
  const question = query.questions[0];
  const name = question.name.toLowerCase();
  const addresses = question.type !== 'A' ? [] : name === 'outside.test' ? ['10.231.254.77'] : name === 'big.test' ? BIG : [];
  const known = name === 'outside.test' || name === 'big.test';
  const response = {
    type: 'response',
    id: query.id,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (known ? 0 : 3),
    questions: [question],
    answers: addresses.map((data) => ({ type: 'A', name: question.name, ttl: 60, data })),
  };
  const encoded = dnsPacket.encode(response);
  if (encoded.length <= limit) return encoded;
  return dnsPacket.encode({ ...response, flags: response.flags | dnsPacket.TRUNCATED_RESPONSE, answers: [] });
}

function udpLimit(query) {
  const opt = (query.additionals ?? []).find((r) => r.type === 'OPT');
  return opt ? Math.min(Math.max(opt.udpPayloadSize ?? 512, 512), 4096) : 512;
}

const udp = createSocket('udp4');
udp.on('message', (message, peer) => {
  let query;
  try {
    query = dnsPacket.decode(message);
  } catch {
    return;
  }
  process.stdout.write(`asked ${query.questions[0]?.name} ${query.questions[0]?.type} over udp\n`);
  udp.send(answer(query, udpLimit(query)), peer.port, peer.address);
});

const tcp = createServer((socket) => {
  let buffered = Buffer.alloc(0);
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
      const length = buffered.readUInt16BE(0);
      const message = buffered.subarray(2, 2 + length);
      buffered = buffered.subarray(2 + length);
      let query;
      try {
        query = dnsPacket.decode(message);
      } catch {
        socket.destroy();
        return;
      }
      process.stdout.write(`asked ${query.questions[0]?.name} ${query.questions[0]?.type} over tcp\n`);
      const reply = answer(query, 65535);
      const framed = Buffer.alloc(2 + reply.length);
      framed.writeUInt16BE(reply.length, 0);
      reply.copy(framed, 2);
      socket.write(framed);
    }
  });
});

let ready = 0;
const listening = () => {
  ready += 1;
  if (ready === 2) process.stdout.write('ready\n');
};
udp.bind(53, address, listening);
tcp.listen(53, address, listening);
