import { parseArgs, type ParseArgsConfig } from 'node:util';
import { usage } from '../cli-error.js';
import { GLOBAL_OPTIONS } from './global-option-specs.js';

/** The option table of one subcommand, as `node:util` `parseArgs` takes it. */
export type OptionTable = NonNullable<ParseArgsConfig['options']>;

/** What a subcommand's options parse to. */
export interface ParsedSubcommand {
  readonly values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  readonly positionals: string[];
  /**
   * Every value-taking option as given, in command-line order, by the
   * spelling used: `values` groups an option's values by spelling, which
   * loses the order of `--net a --network b --net c`.
   */
  readonly given: readonly { readonly name: string; readonly value: string }[];
}

/**
 * Parses a subcommand's options strictly with `parseArgs`, turning its
 * errors into usage errors that name the subcommand.
 */
export function parseSubcommand(command: string, args: readonly string[], options: OptionTable): ParsedSubcommand {
  try {
    const { values, positionals, tokens } = parseArgs({ args: [...args], options, allowPositionals: true, strict: true, tokens: true });
    const given = tokens.flatMap((t) => (t.kind === 'option' && typeof t.value === 'string' ? [{ name: t.name, value: t.value }] : []));
    return { values: values as ParsedSubcommand['values'], positionals, given };
  } catch (error) {
    const message = error instanceof Error ? error.message.replace(/\. To specify a positional argument.*$/s, '') : String(error);
    const option = /Unknown option '--?([^'=]+)/.exec(message)?.[1];
    const global = GLOBAL_OPTIONS.find((o) => o.long === option || o.short === option);
    const hint =
      global && !(option && option in options)
        ? ` (--${global.long} is a global option: put it before the command, netmode --${global.long} … ${command})`
        : '';
    throw usage(`netmode ${command}: ${message}${hint}`);
  }
}

/**
 * Splits `run`/`exec` arguments into netmode's options and the command to
 * start. The command begins after `--`, or, as in Docker, at the first
 * argument that is not an option or an option's value, so
 * `netmode run --net none node -e 1` leaves `-e` to node.
 */
export function splitAtCommand(args: readonly string[], options: OptionTable): { own: string[]; command: string[] } {
  const takesValue = (name: string) => options[name]?.type === 'string';
  const shortToLong = new Map(Object.entries(options).flatMap(([name, o]) => (o.short ? [[o.short, name] as const] : [])));
  for (let i = 0; i < args.length; i += 1) {
    const token = args[i] as string;
    if (token === '--') return { own: args.slice(0, i), command: args.slice(i + 1) };
    if (token.startsWith('--')) {
      if (!token.includes('=') && takesValue(token.slice(2))) i += 1;
      continue;
    }
    if (token.startsWith('-') && token.length > 1) {
      // Grouped short flags: -dp 80 or -dp80; a value-taking flag ends the group.
      for (let c = 1; c < token.length; c += 1) {
        const name = shortToLong.get(token[c] as string);
        if (name !== undefined && takesValue(name)) {
          if (c === token.length - 1) i += 1;
          break;
        }
      }
      continue;
    }
    // The first positional: with one positional expected before the command
    // (exec NAME), the caller handles that.
    return { own: args.slice(0, i), command: args.slice(i) };
  }
  return { own: [...args], command: [] };
}
