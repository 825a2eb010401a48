// What `netmode daemon` takes, its options and operands, and the input its handler gets.
import { usage } from '../cli-error.js';
import type { CommandInput } from '../registry/command-spec.js';
import { NO_OPERANDS } from '../registry/operand-spec.js';
import type { OptionSpecs } from '../registry/option-spec.js';

/** Where the daemon listens when neither its `-H` nor the global one (or `NETMODE_HOST`) says. */
export const DEFAULT_DAEMON_HOST = 'unix:///run/netmode.sock';

/** A group name or number for the unix sockets (Docker's `--group`). */
function group(raw: string): string {
  if (!/^[a-z_][a-z0-9_-]{0,31}\$?$|^[0-9]+$/i.test(raw))
    throw usage(`netmode daemon: --group ${JSON.stringify(raw)} is not a group name or id`);
  return raw;
}

export const options = {
  host: {
    type: 'string',
    short: 'H',
    arg: 'URL',
    multiple: true,
    help: `listen on unix:///PATH, tcp://HOST:PORT or fd:// (repeatable; default the
global -H or NETMODE_HOST, else ${DEFAULT_DAEMON_HOST})`,
  },
  group: {
    type: 'string',
    short: 'G',
    arg: 'GROUP',
    parse: group,
    help: 'group owner of the unix sockets (mode 0660; default root)',
  },
  tlsverify: { type: 'boolean', help: 'TLS on tcp:// listeners, clients need a certificate signed by --tlscacert' },
  tlscacert: { type: 'string', arg: 'FILE', help: 'the CA whose client certificates are trusted' },
  tlscert: { type: 'string', arg: 'FILE', help: "the daemon's certificate" },
  tlskey: { type: 'string', arg: 'FILE', help: "the daemon's certificate's key" },
} as const satisfies OptionSpecs;

/** What `daemon`'s handler gets. */
export type DaemonInput = CommandInput<typeof options, typeof NO_OPERANDS>;
