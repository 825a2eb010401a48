/**
 * The demo's network probe, a dependency-free script run inside a container
 * with `node probe.js MODE …`. It prints one line of JSON.
 *
 *   serve PORT                  answer every TCP connection and UDP datagram on PORT with the
 *                               peer's address (what the server saw); prints {"ready":true}
 *   tcp-ask HOST PORT [MS]      connect and print {"ok":true,"answer":ADDR,"ms":…}, exit 0;
 *                               {"ok":false,"error":CODE,"ms":…} and exit 1 on error or after MS (1500)
 *   udp-ask HOST PORT [MS]      the same with one datagram
 *   ifaces                      {"ifaces":{"lo":["127.0.0.1/8"],…}}: every interface this namespace has
 *   routes                      {"routes":["default via 172.17.0.1 dev eth0",…]}: its IPv4 routes
 *   sleep                       wait until killed
 *
 * @module
 */
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { networkInterfaces } from 'node:os';

const [mode, a, b, c] = process.argv.slice(2);
const started = performance.now();
const elapsed = () => Math.round((performance.now() - started) * 100) / 100;
const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
const plain = (address: string | undefined) => (address ?? '').replace(/^::ffff:/, '');
const fail = (error: string): never => {
  print({ ok: false, error, ms: elapsed() });
  process.exit(1);
};

function ask(): void {
  const host = a as string;
  const port = Number(b);
  const timeout = c === undefined ? 1500 : Number(c);
  setTimeout(() => fail('ETIMEDOUT'), timeout).unref();
  const done = (answer: string) => {
    print({ ok: true, answer: answer.trim(), ms: elapsed() });
    process.exit(0);
  };
  if (mode === 'tcp-ask') {
    const socket = connect({ host, port });
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    socket.on('end', () => done(answer));
    socket.on('error', (e: NodeJS.ErrnoException) => fail(e.code ?? e.message));
  } else {
    const socket = createSocket('udp4');
    socket.on('message', (msg) => done(msg.toString()));
    socket.on('error', (e: NodeJS.ErrnoException) => fail(e.code ?? e.message));
    socket.send('probe', port, host);
  }
}

function serve(): void {
  const port = Number(a);
  let listening = 0;
  const ready = () => {
    listening += 1;
    if (listening === 2) print({ ready: true, port });
  };
  createServer((socket) => socket.end(`${plain(socket.remoteAddress)}\n`)).listen(port, '0.0.0.0', ready);
  const udp = createSocket('udp4');
  udp.on('message', (_msg, peer) => udp.send(`${peer.address}\n`, peer.port, peer.address));
  udp.bind(port, '0.0.0.0', ready);
}

function ifaces(): void {
  // /proc/self/net/dev lists every interface of this process's namespace,
  // also those without an address (os.networkInterfaces skips them).
  const names = readFileSync('/proc/self/net/dev', 'utf8')
    .split('\n')
    .slice(2)
    .map((line) => line.split(':')[0]?.trim())
    .filter((name): name is string => Boolean(name));
  const addresses = networkInterfaces();
  const result: Record<string, string[]> = {};
  for (const name of names.sort()) {
    result[name] = (addresses[name] ?? []).filter((i) => i.family === 'IPv4').map((i) => i.cidr ?? i.address);
  }
  print({ ifaces: result });
}

function routes(): void {
  const hex = (h: string) => [3, 2, 1, 0].map((i) => parseInt(h.slice(i * 2, i * 2 + 2), 16)).join('.');
  const bits = (mask: string) =>
    hex(mask)
      .split('.')
      .reduce((n, o) => n + Number(o).toString(2).replace(/0/g, '').length, 0);
  const lines = readFileSync('/proc/self/net/route', 'utf8').trim().split('\n').slice(1);
  print({
    routes: lines.map((line) => {
      const [dev, dest, gw, , , , , mask] = line.trim().split(/\s+/) as string[];
      const target = dest === '00000000' && mask === '00000000' ? 'default' : `${hex(dest as string)}/${bits(mask as string)}`;
      return `${target}${gw === '00000000' ? '' : ` via ${hex(gw as string)}`} dev ${dev}`;
    }),
  });
}

switch (mode) {
  case 'serve':
    serve();
    break;
  case 'tcp-ask':
  case 'udp-ask':
    ask();
    break;
  case 'ifaces':
    ifaces();
    break;
  case 'routes':
    routes();
    break;
  case 'sleep':
    setInterval(() => {}, 1 << 30);
    break;
  default:
    fail(`unknown mode ${String(mode)}`);
}
