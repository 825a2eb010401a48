import { usage } from '../cli-error.js';
import { createOptions, oneNetwork, someNetworks, readOptions } from '../inputs/network.js';
import { defineCommand, defineGroup } from '../registry/command-spec.js';
import { NO_OPERANDS } from '../registry/operand-spec.js';

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
