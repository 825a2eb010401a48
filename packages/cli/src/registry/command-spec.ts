import type { GlobalOptions } from '../args/globals.js';
import type { Session } from '../session.js';
import type { OperandSpec, OperandValues } from './operand-spec.js';
import type { OptionSpecs, OptionValues } from './option-spec.js';

/** What a command's handler gets: its options and operands, parsed and checked. */
export type CommandInput<O extends OptionSpecs, A extends OperandSpec> = { readonly options: OptionValues<O> } & OperandValues<A>;

/**
 * Does a command's work and resolves with the exit status. It may assume its
 * input is as declared: options known and converted, operands counted, the
 * declaration's `check` passed. It throws `CliError` or `NetModeError`;
 * `main` prints them.
 */
// Written as a method's type so that a handler of one command's input fits
// the registry's list of every command (methods are compared bivariantly).
export type Handler<I> = { handle(session: Session, input: I): Promise<number> }['handle'];

/**
 * One command, declared once: `main` finds it by name, the parser and the
 * help are made from it, and its handler is loaded only when it runs.
 * A declaration must not import the SDK (`@netmode/core` or a driver) at
 * load, except as types: `--help` and usage errors never load it.
 */
export interface CommandSpec<O extends OptionSpecs = OptionSpecs, A extends OperandSpec = OperandSpec> {
  /** Tells a command from a {@link CommandGroup}. */
  readonly kind: 'command';
  /** The word that selects it (`run`, or `create` under `network`). */
  readonly name: string;
  /** Other words that select it (`list` for `network ls`); not shown in help. */
  readonly aliases?: readonly string[];
  /** One line for the list of commands in the help above it. */
  readonly summary: string;
  /** Paragraphs of its own `--help`, after the usage line. */
  readonly description?: string;
  /** Its options, besides `-h, --help`, which every command has. */
  readonly options: O;
  /** What it takes after its options. */
  readonly operands: A;
  /**
   * The exit status of a failure of netmode itself (usage or `ERR_*`) in
   * this command, where it is not the usual 1 or 2: `run`'s 125, as Docker.
   */
  readonly failureStatus?: number;
  /**
   * Whether it runs the SDK in this process whatever `-H` says: `daemon`,
   * whose `-H` is where it listens, and the commands that look at this
   * machine itself (`doctor`, `demo`).
   */
  readonly embedsSdk?: boolean;
  /**
   * What it does with the daemon settings kept in the state directory
   * (docs/configuration.md): `apply` (the default) for a command that may
   * change something — it stores the settings the first time, and applies
   * or refuses a change; `read` for one that only reads — it uses those
   * stored and refuses a change; `none` for one that works in a state
   * directory of its own (`demo`).
   */
  readonly daemonSettings?: 'apply' | 'read' | 'none';
  /** Whether its `--help` ends with the table of exit statuses. */
  readonly listsExitStatus?: boolean;
  /**
   * Checks what the parser cannot (options that need each other); pure, it
   * throws a usage error or a `CliError`. Runs before the handler is loaded.
   */
  check?(input: CommandInput<O, A>, globals: GlobalOptions): void;
  /** Loads the handler, on demand: it is what imports the SDK. */
  handler(): Promise<Handler<CommandInput<O, A>>>;
}

/** Commands under one word (`network create`, `network ls`, …). */
export interface CommandGroup {
  /** Tells a group from a {@link CommandSpec}. */
  readonly kind: 'group';
  /** The word that selects the group (`network`). */
  readonly name: string;
  /** One line for the list of commands in `netmode --help`. */
  readonly summary: string;
  /** Its commands, in the order its help lists them. */
  readonly commands: readonly CommandSpec[];
}

/** An entry of the registry: a command, or a group of commands. */
export type Declaration = CommandSpec | CommandGroup;

/** Declares a command; see {@link CommandSpec}. */
export function defineCommand<O extends OptionSpecs, A extends OperandSpec>(spec: Omit<CommandSpec<O, A>, 'kind'>): CommandSpec<O, A> {
  return { kind: 'command', ...spec };
}

/** Declares a group of commands under one word. */
export function defineGroup(group: Omit<CommandGroup, 'kind'>): CommandGroup {
  return { kind: 'group', ...group };
}

/** Every command's path (`network ls`) with its declaration, in registry order. */
export function eachCommand(declarations: readonly Declaration[]): [string, CommandSpec][] {
  return declarations.flatMap((d): [string, CommandSpec][] =>
    d.kind === 'group' ? d.commands.map((c): [string, CommandSpec] => [`${d.name} ${c.name}`, c]) : [[d.name, d]],
  );
}
