// Asks one DNS question from inside a namespace, as a container's resolver
// would: `nsenter --net=PATH node dns-ask.mjs SERVER NAME [TYPE] [udp|tcp] [SOURCE]`.
// Prints one JSON line: {"rcode":"NOERROR","tc":false,"answers":["10.0.0.2"],"size":N}
// or {"error":"timeout"} when nothing came back within 3 s (DNS_ASK_TIMEOUT_MS to change it). With udp (the
// default) a truncated answer is reported as it came (tc true), not retried.
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import dnsPacket from 'dns-packet';

const [server, name, type = 'A', transport = 'udp', source] = process.argv.slice(2);
const query = dnsPacket.encode({
  type: 'query',
  id: Math.floor(Math.random() * 65535),
  flags: dnsPacket.RECURSION_DESIRED,
  questions: [{ type, name }],
});
const print = (value) => {
  process.stdout.write(`${JSON.stringify(value)}\n`);
  process.exit(0);
};
setTimeout(() => print({ error: 'timeout' }), Number(process.env.DNS_ASK_TIMEOUT_MS ?? 3000)).unref();
const report = (message) => {
  const response = dnsPacket.decode(message);
  print({
    rcode: response.rcode,
    tc: (response.flags & dnsPacket.TRUNCATED_RESPONSE) !== 0,
    aa: (response.flags & dnsPacket.AUTHORITATIVE_ANSWER) !== 0,
    answers: response.answers.map((a) => a.data),
    size: message.length,
  });
};

if (transport === 'tcp') {
  const socket = connect({ host: server, port: 53, ...(source ? { localAddress: source } : {}) });
  let buffered = Buffer.alloc(0);
  socket.on('connect', () => {
    const framed = Buffer.alloc(2 + query.length);
    framed.writeUInt16BE(query.length, 0);
    query.copy(framed, 2);
    socket.write(framed);
  });
  socket.on('data', (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    if (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) report(buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
  });
  socket.on('error', (error) => print({ error: error.code ?? String(error) }));
} else {
  const socket = createSocket('udp4');
  socket.on('message', report);
  socket.on('error', (error) => print({ error: error.code ?? String(error) }));
  socket.bind(0, source, () => socket.send(query, 53, server));
}
