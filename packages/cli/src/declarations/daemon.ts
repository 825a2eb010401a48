import { usage } from '../cli-error.js';
import { options } from '../inputs/daemon.js';
import { defineCommand } from '../registry/command-spec.js';
import { NO_OPERANDS } from '../registry/operand-spec.js';

/** `netmode daemon [-H URL]... [--group G] [--tlsverify --tlscacert F --tlscert F --tlskey F]` */
export const daemon = defineCommand({
  name: 'daemon',
  summary: 'serve the netmode API on a socket, for netmode -H and Docker clients',
  description: `Runs one long-lived netmode: reconciles the state, then serves the API
(Docker's network endpoints and netmode's own) on every -H until SIGTERM or
SIGINT, when it stops taking requests, lets those in flight finish, and
exits 0. The global options (--state-dir, --host-netns, --firewall,
--name-prefix, --driver-package, the bridge's) are its settings; clients'
own are ignored. A unix socket is mode 0660, owned by root and --group;
tcp:// listens on a loopback address only, unless --tlsverify with its
three files asks every client for a certificate.`,
  options,
  operands: NO_OPERANDS,
  embedsSdk: true,
  check({ options: o }) {
    const files = [o.tlscacert, o.tlscert, o.tlskey];
    if (o.tlsverify && files.some((f) => f === undefined)) {
      throw usage('netmode daemon: --tlsverify needs --tlscacert, --tlscert and --tlskey');
    }
    if (!o.tlsverify && files.some((f) => f !== undefined)) {
      throw usage('netmode daemon: --tlscacert, --tlscert and --tlskey go with --tlsverify');
    }
  },
  handler: async () => (await import('../commands/daemon.js')).daemonCommand,
});
