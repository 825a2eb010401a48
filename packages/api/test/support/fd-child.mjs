// Run by listen.test.ts as a socket-activated service: LISTEN_PID and
// LISTEN_FDS are set for this process and fd 3 is a listening TCP socket.
// Uses the built package (dist), as a daemon would.
import { createApiServer, listenAll, parseHost } from '../../dist/index.js';

const server = createApiServer(/** @type {never} */ ({ drivers: [] }));
const stop = await listenAll(server, [parseHost(process.argv[2] ?? 'fd://')], {});
process.stdout.write(`listening ${stop.addresses.join(' ')}\n`);
process.on('SIGTERM', () => {
  void stop().then(() => process.exit(0));
});
