import { GLOBAL_OPTIONS } from '../args/global-options.js';

const EXIT_CODES = `Exit status:
  0    success
  1    usage error: unknown command or option, malformed value (ERR_USAGE)
  2    netmode refused or failed: the ERR_* code and a hint are printed on stderr
  3    a check failed: doctor found a failing check, or demo saw a path differ from what was expected
  125  run: netmode failed before the command started (usage errors included, as Docker)
  126  run, exec: the command cannot be invoked (not executable)
  127  run, exec: the command was not found
  N    run, exec: the command's own exit status; 128+S when a signal S ended it
  130  demo: interrupted (SIGINT); everything it made was removed`;

function globalOptionsText(): string {
  const rows = GLOBAL_OPTIONS.map((o) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${o.long}${o.kind === 'boolean' && o.key !== 'help' && o.key !== 'version' ? '[=false]' : o.arg ? ` ${o.arg}` : ''}`;
    return [flag, o.help + (o.env ? ` [${o.env}]` : '')] as const;
  });
  const width = Math.max(...rows.map(([f]) => f.length));
  return rows.map(([f, h]) => `  ${f.padEnd(width)}  ${h}`).join('\n');
}

const TOP = () => `Usage: netmode [GLOBAL OPTIONS] COMMAND [ARGS...]

Runs processes in Docker's network modes (bridge, host, none, container:NAME)
with the netmode SDK. Most commands need root.

Commands:
  run       connect a new container and run a command in its network namespace
  exec      run a command in a running container's network namespace
  ps        list containers
  inspect   show one container
  stop      stop a container's process (SIGTERM, then SIGKILL)
  rm        disconnect a container and forget it
  gc        remove exited containers, endpoints no container owns, and stray objects
  reconcile repair after a crash, a reboot or a flushed firewall
  network   create, ls, inspect, rm networks
  doctor    check this machine for what netmode needs
  demo      show every mode at work in throwaway namespaces, then remove everything

Global options (before the command; each has an environment variable, the flag wins):
${globalOptionsText()}

Read commands (ps, inspect, network ls, network inspect, doctor, demo, gc, reconcile) take --json.
Run netmode COMMAND --help for a command's options.

${EXIT_CODES}`;

const COMMANDS: Record<string, string> = {
  run: `Usage: netmode run [OPTIONS] [--] CMD [ARGS...]

Connects a new container, starts CMD in its network namespace
(nsenter --net=PATH -- CMD ARGS) and, in the foreground, passes signals on,
waits for it, disconnects, and exits with its exit status. With -d, prints
the container's name and leaves it running; its output goes to
STATE_DIR/cli/logs/NAME.log.

Options:
  --name NAME            the container's name (default: c + 11 hex digits)
  --net, --network MODE  bridge (default), host, none, container:NAME or a network's name
  -p, --publish SPEC     publish a port: [hostIp:][hostPort[-end]:]containerPort[-end][/tcp|/udp]
                         (containerPort alone picks an ephemeral host port); repeatable
  --ip ADDRESS           a static address on the network
  --mac-address MAC      a static MAC address
  -d, --detach           run in the background and print the name

${EXIT_CODES}`,
  exec: `Usage: netmode exec NAME [--] CMD [ARGS...]

Runs CMD in the network namespace of the running container NAME, in the
foreground, and exits with its exit status.`,
  ps: `Usage: netmode ps [--json]

Lists the containers netmode run started, running or exited: name, status,
PID, mode, address, published ports, command.`,
  inspect: `Usage: netmode inspect NAME [--json]

Shows a container: its process, mode, sandbox namespace, addresses, routes'
gateways, interfaces and published ports.`,
  stop: `Usage: netmode stop [-t SECONDS] NAME...

Sends SIGTERM to the container's recorded process, then SIGKILL after
SECONDS (default 10). Only the process netmode recorded is signalled, and
only while its start time still matches (a recycled PID is never hit). The
container stays connected until netmode rm.`,
  rm: `Usage: netmode rm [-f] NAME...

Disconnects the container and forgets it. A running container is refused
unless -f, which kills its process first (SIGKILL).`,
  gc: `Usage: netmode gc [--json]

Removes every container whose process has exited (disconnects it and forgets
it), then runs the SDK's garbage collection: disconnects every endpoint of the
state directory that no remaining container owns, and removes namespaces and
links carrying the name prefix that no record owns.`,
  reconcile: `Usage: netmode reconcile [--json]

Brings records and kernel back in line: finishes operations a dead process
left half-done, tears down endpoints whose namespace vanished (a reboot),
marks endpoints whose links were removed by hand as broken, restores firewall
rules someone flushed, and releases leases nobody owns.`,
  network: `Usage: netmode network COMMAND

Commands:
  create [OPTIONS] NAME   create a network
  ls [--json]             list networks
  inspect NAME [--json]   show a network and its containers
  rm NAME...              remove networks`,
  'network create': `Usage: netmode network create [OPTIONS] NAME

Options:
  -d, --driver DRIVER   the driver (default bridge)
  --subnet CIDR         the subnet (default: the next free one from the pools)
  --gateway ADDRESS     the bridge's address in the subnet (default: the first)
  --ip-range CIDR       hand out container addresses from this part of the subnet
  --internal            no route in or out of the host
  -o, --opt KEY=VALUE   a driver option; bridge: bridge, bridgeName, mtu, icc, ipMasq
                        (Docker's com.docker.network.bridge.name, ….driver.mtu,
                        ….bridge.enable_icc, ….bridge.enable_ip_masquerade work too)`,
  'network ls': `Usage: netmode network ls [--json]`,
  'network inspect': `Usage: netmode network inspect NAME [--json]`,
  'network rm': `Usage: netmode network rm NAME...`,
  doctor: `Usage: netmode doctor [--json]

Checks privileges, the tools netmode runs, kernel features (in a scratch
namespace made and deleted for the purpose), ip_forward in the host
namespace (read only) and other firewall managers (read only). Exits 3 when
a check fails.`,
  demo: `Usage: netmode demo [--json]

In a throwaway host namespace and an outside-world namespace, with a
temporary state directory, starts real processes in every mode (bridge,
a user-defined bridge network with a published port, host, none,
container:NAME), probes every path, prints what it observed against what
Docker's semantics predict, and removes everything (also on Ctrl-C). Exits 3
if any path differs. Honours --firewall (nftables or iptables); the other
global options do not apply.`,
};

/** The help text of a command (`network create`, …), or the top-level help. */
export function helpFor(command?: string): string {
  if (command === undefined) return TOP();
  return COMMANDS[command] ?? TOP();
}
