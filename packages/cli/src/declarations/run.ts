import { ExitCode } from '../cli-error.js';
import { options, operands, runNetworks } from '../inputs/run.js';
import { defineCommand } from '../registry/command-spec.js';

/** `netmode run [OPTIONS] [--] CMD [ARGS...]` */
export const run = defineCommand({
  name: 'run',
  summary: 'connect a new container and run a command in its network namespace',
  description: `Connects a new container, starts CMD in its network namespace
and, in the foreground, passes signals on, waits for it, disconnects, and
exits with its exit status: a container run in the foreground is removed
when its command ends, with or without --rm. With -d, prints the
container's name and leaves it running; its output goes to
STATE_DIR/cli/logs/NAME.log; netmode stop keeps it, stopped, for netmode
start, or with --rm removes it.

CMD runs in a mount and a UTS namespace of its own (private: nothing
reaches the host's mounts), where /etc/hostname, /etc/hosts and
/etc/resolv.conf are the container's files (netmode inspect NAME shows
them), /sys shows its own interfaces and hostname prints its --hostname.
--hostname, --domainname, --dns, --dns-search, --dns-option and --add-host
are Docker's; they belong to the container, not to one network, and a
container:NAME joiner takes NAME's.

With --net given several times, the container is connected to each network
in turn (eth0, eth1, …); if one fails, those connected are disconnected
again. --ip, --mac-address, --network-alias and --gw-priority apply to the
first network, as Docker's do, and --net name=NETWORK,ip=…,alias=… gives any
network its own; -p publishes on the first that is not internal, as Docker
does.`,
  options,
  operands,
  check({ options }) {
    runNetworks(options);
  },
  // As Docker: anything that fails before the command starts is 125.
  failureStatus: ExitCode.RUN_FAILED,
  listsExitStatus: true,
  handler: async () => (await import('../commands/run.js')).runCommand,
});
