// A long-lived TCP conversation, run inside a namespace with `nsenter --net=PATH node chat.mjs …`.
//   echo PORT         echo every byte back on every connection; prints `ready` once it listens
//   client HOST PORT  connect once, print `connected`, then send each stdin line and print each line
//                     that comes back; exit 1 when the connection fails or closes
// One connection carries the whole test, so a reply proves that connection survived.
import { connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';

const [mode, a, b] = process.argv.slice(2);
if (mode === 'echo') {
  createServer((socket) => socket.pipe(socket)).listen(Number(a), '0.0.0.0', () => process.stdout.write('ready\n'));
} else if (mode === 'client') {
  const socket = connect(Number(b), a, () => process.stdout.write('connected\n'));
  socket.on('error', (error) => {
    process.stdout.write(`error ${error.code}\n`);
    process.exit(1);
  });
  socket.on('close', () => process.exit(1));
  createInterface({ input: socket }).on('line', (line) => process.stdout.write(`${line}\n`));
  createInterface({ input: process.stdin }).on('line', (line) => socket.write(`${line}\n`));
} else {
  process.stdout.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
