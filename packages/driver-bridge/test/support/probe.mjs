// A tiny network probe run inside a namespace with `nsenter --net=PATH node probe.mjs …`.
//   tcp-serve PORT      answer every TCP connection with the peer's address, then close
//   udp-serve PORT      answer every datagram with the sender's address
//   tcp-ask HOST PORT   connect, print the answer, exit 0; exit 1 on error or after 2 s
//   udp-ask HOST PORT   send one datagram, print the answer, exit 0; exit 1 after 2 s
//   tcp-name PORT NAME  answer every TCP connection with NAME, then close (which server answered?)
//   udp-log PORT        print `SENDER TEXT` for every datagram, never answer (the sender may be forged)
//   udp-send HOST PORT SOURCE TEXT  send TEXT from the local address SOURCE, exit 0 once sent
import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';

const [mode, a, b] = process.argv.slice(2);
const fail = (why) => {
  process.stdout.write(`error ${why}\n`);
  process.exit(1);
};
setTimeout(() => fail('timeout'), mode.endsWith('ask') || mode.endsWith('send') ? 2000 : 600_000).unref?.();

if (mode === 'tcp-serve') {
  createServer((socket) => socket.end(`${socket.remoteAddress}\n`)).listen(Number(a), '0.0.0.0', () => process.stdout.write('ready\n'));
} else if (mode === 'udp-serve') {
  const socket = createSocket('udp4');
  socket.on('message', (_msg, peer) => socket.send(`${peer.address}\n`, peer.port, peer.address));
  socket.bind(Number(a), '0.0.0.0', () => process.stdout.write('ready\n'));
} else if (mode === 'tcp-name') {
  createServer((socket) => socket.end(`${b}\n`)).listen(Number(a), '0.0.0.0', () => process.stdout.write('ready\n'));
} else if (mode === 'udp-log') {
  const socket = createSocket('udp4');
  socket.on('message', (msg, peer) => process.stdout.write(`${peer.address} ${msg}\n`));
  socket.bind(Number(a), '0.0.0.0', () => process.stdout.write('ready\n'));
} else if (mode === 'udp-send') {
  const [source, text] = process.argv.slice(5);
  const socket = createSocket('udp4');
  socket.on('error', (e) => fail(e.code));
  socket.bind(0, source, () => socket.send(text, Number(b), a, (e) => (e ? fail(e.code) : process.exit(0))));
} else if (mode === 'tcp-ask') {
  const socket = connect({ host: a, port: Number(b) });
  let answer = '';
  socket.on('data', (d) => (answer += d));
  socket.on('end', () => {
    process.stdout.write(answer);
    process.exit(0);
  });
  socket.on('error', (e) => fail(e.code));
} else if (mode === 'udp-ask') {
  const socket = createSocket('udp4');
  socket.on('message', (msg) => {
    process.stdout.write(String(msg));
    process.exit(0);
  });
  socket.on('error', (e) => fail(e.code));
  socket.send('hi', Number(b), a);
} else {
  fail(`unknown mode ${mode}`);
}
