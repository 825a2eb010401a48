import { parsePortSpec } from '../args/port-spec.js';
import { ExitCode } from '../cli-error.js';
import { defineCommand, type CommandInput } from '../registry/command-spec.js';
import type { OperandSpec } from '../registry/operand-spec.js';
import type { OptionSpecs } from '../registry/option-spec.js';

const options = {
  name: { type: 'string', arg: 'NAME', help: "the container's name (default: c + 11 hex digits)" },
  net: { type: 'string', arg: 'MODE', aliases: ['network'], help: "bridge (default), host, none, container:NAME or a network's name" },
  publish: {
    type: 'string',
    short: 'p',
    arg: 'SPEC',
    multiple: true,
    parse: parsePortSpec,
    help: 'publish a port: [hostIp:][hostPort[-end]:]containerPort[-end][/tcp|/udp]\n(containerPort alone picks an ephemeral host port)',
  },
  ip: { type: 'string', arg: 'ADDRESS', help: 'a static address on the network' },
  'mac-address': { type: 'string', arg: 'MAC', help: 'a static MAC address' },
  detach: { type: 'boolean', short: 'd', help: 'run in the background and print the name' },
} as const satisfies OptionSpecs;

const operands = { kind: 'command', example: 'netmode run --net none -- ip addr' } as const satisfies OperandSpec;

/** What `run`'s handler gets. */
export type RunInput = CommandInput<typeof options, typeof operands>;

/** `netmode run [OPTIONS] [--] CMD [ARGS...]` */
export const run = defineCommand({
  name: 'run',
  summary: 'connect a new container and run a command in its network namespace',
  description: `Connects a new container, starts CMD in its network namespace
(nsenter --net=PATH -- CMD ARGS) and, in the foreground, passes signals on,
waits for it, disconnects, and exits with its exit status. With -d, prints
the container's name and leaves it running; its output goes to
STATE_DIR/cli/logs/NAME.log.`,
  options,
  operands,
  // As Docker: anything that fails before the command starts is 125.
  failureStatus: ExitCode.RUN_FAILED,
  listsExitStatus: true,
  handler: async () => (await import('../commands/run.js')).runCommand,
});
