import type { GlobalOptions } from '../args/globals.js';
import { parseSubcommand, splitAtCommand, type OptionTable, type ParsedSubcommand } from '../args/subcommand.js';
import { usage } from '../cli-error.js';
import type { CommandInput, CommandSpec } from './command-spec.js';
import type { OperandSpec } from './operand-spec.js';
import { HELP_OPTION, type OptionSpec, type OptionSpecs } from './option-spec.js';

/** What {@link parseCommand} found: a request for help, or the handler's input. */
export type ParsedCommand<O extends OptionSpecs, A extends OperandSpec> =
  { readonly help: true } | { readonly help: false; readonly input: CommandInput<O, A> };

/**
 * Every option of a command as `node:util` `parseArgs` takes it, by every
 * spelling it accepts: its declared options, their aliases, and `--help`.
 * The parser uses exactly this table, and `--help` lists exactly its keys.
 */
export function optionTable(spec: CommandSpec): OptionTable {
  const table: OptionTable = {};
  for (const [long, option] of [...Object.entries(spec.options), ['help', HELP_OPTION] as const]) {
    const multiple = option.type === 'string' && option.multiple === true;
    table[long] = { type: option.type, ...(option.short ? { short: option.short } : {}), ...(multiple ? { multiple } : {}) };
    if (option.type === 'string')
      for (const alias of option.aliases ?? []) table[alias] = { type: 'string', ...(multiple ? { multiple } : {}) };
  }
  return table;
}

/**
 * Parses a command's arguments against its declaration: unknown options,
 * missing values and operand counts are usage errors naming the command
 * (`netmode network create: …`); values are converted by their `parse`;
 * then the declaration's `check` runs. `--help` wins over everything but an
 * unknown option. Loads nothing: every step is the declaration's own code.
 */
export function parseCommand<O extends OptionSpecs, A extends OperandSpec>(
  spec: CommandSpec<O, A>,
  path: string,
  args: readonly string[],
  globals: GlobalOptions,
): ParsedCommand<O, A> {
  const table = optionTable(spec as CommandSpec);
  const split = spec.operands.kind === 'command' ? splitAtCommand(args, table) : { own: [...args], command: [] };
  const parsed = parseSubcommand(path, split.own, table);
  if (parsed.values['help'] === true) return { help: true };
  const operands = readOperands(spec.operands, path, parsed.positionals, split.command);
  const options: Record<string, unknown> = {};
  for (const [long, option] of Object.entries(spec.options)) options[long] = readOption(path, long, option, parsed);
  const input = { options, ...operands } as CommandInput<O, A>;
  spec.check?.(input, globals);
  return { help: false, input };
}

function readOperands(
  spec: OperandSpec,
  path: string,
  positionals: readonly string[],
  command: readonly string[],
): Record<string, unknown> {
  const fail = (message: string) => usage(`netmode ${path}: ${message}`);
  switch (spec.kind) {
    case 'none':
      if (positionals.length > 0) throw fail(`unexpected argument ${positionals[0]}`);
      return {};
    case 'one':
      if (positionals.length !== 1) throw fail(`give exactly one ${spec.what}`);
      return { name: positionals[0] };
    case 'some':
      if (positionals.length === 0) throw fail(`give at least one ${spec.what}`);
      return { names: positionals };
    case 'fixed': {
      if (positionals.length !== spec.names.length) {
        const usageLine = spec.names.map((n) => n.name).join(' ');
        throw fail(`give ${usageLine}: ${spec.names.map((n) => `a ${n.what}`).join(', then ')}`);
      }
      return Object.fromEntries(spec.names.map((n, i) => [n.key, positionals[i]]));
    }
    case 'command': {
      // Only an operand the split could not take as the command lands here.
      if (positionals.length > 0) throw fail(`unexpected argument ${positionals[0]}`);
      if (!spec.target) {
        if (command.length === 0) throw fail(`give the command to run${spec.example ? `, e.g. ${spec.example}` : ''}`);
        return { command };
      }
      const [name, ...rest] = command;
      if (name === undefined) throw fail(`give a ${spec.target.what} and a command`);
      const cmd = rest[0] === '--' ? rest.slice(1) : rest;
      if (cmd.length === 0) throw fail(`give the command to run in ${name}`);
      return { name, command: cmd };
    }
  }
}

function readOption(path: string, long: string, option: OptionSpec, { values, given }: ParsedSubcommand): unknown {
  if (option.type === 'boolean') return values[long] === true;
  const spellings = [long, ...(option.aliases ?? [])];
  // In command-line order whatever the spelling: the order of a repeatable
  // option's values can matter (`run --net a --network b`: a comes first).
  const raw = given.filter((g) => spellings.includes(g.name)).map((g) => g.value);
  const convert = option.parse ?? ((text: string) => text);
  if (option.multiple) return raw.map(convert);
  const distinct = [...new Set(raw)];
  if (distinct.length > 1) {
    const named = spellings.filter((name) => values[name] !== undefined).map((name) => `--${name}`);
    throw usage(
      `netmode ${path}: ${named.join(' and ')} are one option, given different values (${distinct.map((v) => JSON.stringify(v)).join(', ')})`,
    );
  }
  return distinct[0] === undefined ? undefined : convert(distinct[0]);
}
