import { parseDriverOption } from '../args/driver-option.js';
import { usage } from '../cli-error.js';
import { defineCommand, defineGroup, type CommandInput } from '../registry/command-spec.js';
import { NO_OPERANDS, type OperandSpec } from '../registry/operand-spec.js';
import { JSON_OPTION, type OptionSpecs } from '../registry/option-spec.js';

const createOptions = {
  driver: { type: 'string', short: 'd', arg: 'DRIVER', help: 'the driver (default bridge)' },
  subnet: { type: 'string', arg: 'CIDR', help: 'the subnet (default: the next free one from the pools)' },
  gateway: { type: 'string', arg: 'ADDRESS', help: "the bridge's address in the subnet (default: the first)" },
  'ip-range': { type: 'string', arg: 'CIDR', help: 'hand out container addresses from this part of the subnet' },
  internal: { type: 'boolean', help: 'no route in or out of the host' },
  opt: {
    type: 'string',
    short: 'o',
    arg: 'KEY=VALUE',
    multiple: true,
    parse: parseDriverOption,
    help: `a driver option; bridge: bridge, bridgeName, mtu, icc, ipMasq
(Docker's com.docker.network.bridge.name, ….driver.mtu,
….bridge.enable_icc, ….bridge.enable_ip_masquerade work too)`,
  },
} as const satisfies OptionSpecs;

const oneNetwork = { kind: 'one', name: 'NAME', what: 'network name' } as const satisfies OperandSpec;
const someNetworks = { kind: 'some', name: 'NAME', what: 'network name' } as const satisfies OperandSpec;
const readOptions = { json: JSON_OPTION } as const;

/** What `network create`'s handler gets. */
export type NetworkCreateInput = CommandInput<typeof createOptions, typeof oneNetwork>;
/** What `network ls`'s handler gets. */
export type NetworkLsInput = CommandInput<typeof readOptions, typeof NO_OPERANDS>;
/** What `network inspect`'s handler gets. */
export type NetworkInspectInput = CommandInput<typeof readOptions, typeof oneNetwork>;
/** What `network rm`'s handler gets. */
export type NetworkRmInput = CommandInput<Record<never, never>, typeof someNetworks>;

/** `netmode network create|ls|inspect|rm …` */
export const network = defineGroup({
  name: 'network',
  summary: 'create, ls, inspect, rm networks',
  commands: [
    defineCommand({
      name: 'create',
      summary: 'create a network',
      options: createOptions,
      operands: oneNetwork,
      check({ options }) {
        if (options.subnet === undefined && (options.gateway !== undefined || options['ip-range'] !== undefined)) {
          throw usage('netmode network create: --gateway and --ip-range need --subnet');
        }
      },
      handler: async () => (await import('../commands/network/create.js')).networkCreateCommand,
    }),
    defineCommand({
      name: 'ls',
      aliases: ['list'],
      summary: 'list networks',
      options: readOptions,
      operands: NO_OPERANDS,
      handler: async () => (await import('../commands/network/ls.js')).networkLsCommand,
    }),
    defineCommand({
      name: 'inspect',
      summary: 'show a network and its containers',
      options: readOptions,
      operands: oneNetwork,
      handler: async () => (await import('../commands/network/inspect.js')).networkInspectCommand,
    }),
    defineCommand({
      name: 'rm',
      aliases: ['remove'],
      summary: 'remove networks',
      options: {},
      operands: someNetworks,
      handler: async () => (await import('../commands/network/rm.js')).networkRmCommand,
    }),
  ],
});
