import { ExitCode, usage } from '../cli-error.js';
import type { CommandGroup, CommandSpec, Declaration } from './command-spec.js';
import { commandHelp, groupHelp, topHelp } from './help-text.js';

/** What the words after the global options select. */
export type Found =
  /** A command, its path (`network create`) and the arguments after its words. */
  | { readonly kind: 'command'; readonly spec: CommandSpec; readonly path: string; readonly args: readonly string[] }
  /** A group without a command (`netmode network`, or `netmode network --help`): its help, with this exit status. */
  | { readonly kind: 'group'; readonly group: CommandGroup; readonly status: number };

const selects = (word: string) => (d: { readonly name: string; readonly aliases?: readonly string[] }) =>
  d.name === word || (d.aliases ?? []).includes(word);

/** Finds the command `name args…` selects; an unknown word is a usage error. */
export function findCommand(declarations: readonly Declaration[], name: string, args: readonly string[]): Found {
  const declaration = declarations.find(selects(name));
  if (!declaration) throw usage(`unknown command ${JSON.stringify(name)}; see netmode --help`);
  if (declaration.kind === 'command') return { kind: 'command', spec: declaration, path: name, args };
  const [word, ...rest] = args;
  // Bare `netmode network` is a mistake (status 1); asking for its help is not.
  if (word === undefined) return { kind: 'group', group: declaration, status: ExitCode.USAGE };
  if (word === '--help' || word === '-h' || word === 'help') return { kind: 'group', group: declaration, status: ExitCode.OK };
  const spec = declaration.commands.find(selects(word));
  if (!spec) {
    const names = declaration.commands.map((c) => c.name).join(', ');
    throw usage(`netmode ${declaration.name}: unknown subcommand ${JSON.stringify(word)} (${names})`);
  }
  return { kind: 'command', spec, path: `${declaration.name} ${spec.name}`, args: rest };
}

/** `netmode help WORDS…`: the help of the command or group the words name, else the top-level help. */
export function helpFor(declarations: readonly Declaration[], words: readonly string[]): string {
  const [name, sub, ...extra] = words;
  const declaration = name === undefined ? undefined : declarations.find(selects(name));
  if (!declaration || extra.length > 0) return topHelp(declarations);
  if (declaration.kind === 'command') return sub === undefined ? commandHelp(declaration.name, declaration) : topHelp(declarations);
  if (sub === undefined) return groupHelp(declaration);
  const spec = declaration.commands.find(selects(sub));
  return spec ? commandHelp(`${declaration.name} ${spec.name}`, spec) : topHelp(declarations);
}
