/**
 * One option of a command, as its declaration states it. The parser's table
 * and the `Options:` section of the command's help are both made from it.
 */
interface BaseOptionSpec {
  /** One line for `--help`; a `\n` starts an indented continuation line. */
  readonly help: string;
  /** The one-letter spelling (`-p` for `--publish`), Docker's where Docker has one. */
  readonly short?: string;
}

/** An option without a value: `-d`, `--json`. Parsed to `true` when given, `false` otherwise. */
export interface FlagSpec extends BaseOptionSpec {
  /** Takes no value (`parseArgs`' name for it). */
  readonly type: 'boolean';
}

/**
 * An option with a value: `--name NAME`, `-p SPEC`. Parsed to the value's
 * string, or to what `parse` makes of it; `undefined` when not given, or
 * every value in order when `multiple`.
 */
export interface ValueSpec<T = unknown> extends BaseOptionSpec {
  /** Takes a value (`parseArgs`' name for it). */
  readonly type: 'string';
  /** The value's name in `--help` (`NAME`, `CIDR`). */
  readonly arg: string;
  /** Whether the option may be repeated (`-p 80 -p 443`); `--help` says so. */
  readonly multiple?: boolean;
  /**
   * Other long spellings of the same option (Docker's `--network` beside
   * `--net`). Given twice with different values, the parse is refused.
   */
  readonly aliases?: readonly string[];
  /**
   * Turns the value into what the handler gets. Runs before the handler is
   * loaded, so a malformed value is a usage error that never loads the SDK.
   * Pure: throws a usage error naming the option and the value.
   */
  readonly parse?: (raw: string) => T;
}

/** Any option a command may declare. */
export type OptionSpec = FlagSpec | ValueSpec;

/** A command's options by their long name, in the order `--help` lists them. */
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** What one declared option parses to. */
export type OptionValue<S> = S extends FlagSpec
  ? boolean
  : S extends ValueSpec
    ? S extends { readonly multiple: true }
      ? ParsedValue<S>[]
      : ParsedValue<S> | undefined
    : never;

type ParsedValue<S> = S extends { readonly parse: (raw: string) => infer T } ? T : string;

/** What a command's declared options parse to, by long name. */
export type OptionValues<O extends OptionSpecs> = { readonly [K in keyof O]: OptionValue<O[K]> };

/**
 * `-h, --help`, which every command takes: the registry adds it to every
 * parser and every help text, so no command declares it.
 */
export const HELP_OPTION: FlagSpec = { type: 'boolean', short: 'h', help: 'print this help' };

/** `--json`, which every read command takes. */
export const JSON_OPTION: FlagSpec = { type: 'boolean', help: 'print the result as JSON' };
