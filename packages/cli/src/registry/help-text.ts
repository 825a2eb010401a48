import { GLOBAL_OPTIONS } from '../args/global-option-specs.js';
import { eachCommand, type CommandGroup, type CommandSpec, type Declaration } from './command-spec.js';
import { HELP_OPTION, type OptionSpec } from './option-spec.js';

const EXIT_STATUS = `Exit status:
  0    success
  1    usage error: unknown command or option, malformed value (ERR_USAGE)
  2    netmode refused or failed: the ERR_* code and a hint are printed on stderr
  3    a check failed: doctor found a failing check, or demo saw a path differ from what was expected
  125  run: netmode failed before the command started (usage errors included, as Docker)
  126  run, exec: the command cannot be invoked (not executable)
  127  run, exec: the command was not found
  N    run, exec: the command's own exit status; 128+S when a signal S ended it
  130  demo: interrupted (SIGINT); everything it made was removed`;

/** Two columns, the second aligned; a `\n` in the second continues under it. */
function columns(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows
    .map(([left, right]) => `  ${left.padEnd(width)}  ${right.split('\n').join(`\n  ${' '.repeat(width)}  `)}`.trimEnd())
    .join('\n');
}

function flagOf(long: string, option: OptionSpec): string {
  const aliases = option.type === 'string' ? (option.aliases ?? []).map((a) => `, --${a}`).join('') : '';
  return `${option.short ? `-${option.short}, ` : ''}--${long}${aliases}${option.type === 'string' ? ` ${option.arg}` : ''}`;
}

/** The rows of a command's `Options:` section, `-h, --help` last. */
export function optionRows(spec: CommandSpec): [string, string][] {
  return [...Object.entries(spec.options), ['help', HELP_OPTION] as const].map(([long, option]) => [
    flagOf(long, option),
    option.type === 'string' && option.multiple ? `${option.help}; repeatable` : option.help,
  ]);
}

/** `[OPTIONS] NAME`, `[-t SECONDS] NAME...`, `[--] CMD [ARGS...]`: what follows the command's words. */
function synopsis(spec: CommandSpec): string {
  const options = Object.entries(spec.options);
  const optionPart =
    options.length > 2
      ? ['[OPTIONS]']
      : options.map(([long, o]) => `[${o.short ? `-${o.short}` : `--${long}`}${o.type === 'string' ? ` ${o.arg}` : ''}]`);
  const { operands } = spec;
  const operandPart =
    operands.kind === 'none'
      ? []
      : operands.kind === 'one'
        ? [operands.name]
        : operands.kind === 'some'
          ? [`${operands.name}...`]
          : operands.kind === 'fixed'
            ? operands.names.map((n) => n.name)
            : [...(operands.target ? [operands.target.name] : []), '[--] CMD [ARGS...]'];
  return [...optionPart, ...operandPart].join(' ');
}

/** `netmode COMMAND --help`: usage, description, options, and for some the exit statuses. */
export function commandHelp(path: string, spec: CommandSpec): string {
  const parts = [`Usage: netmode ${`${path} ${synopsis(spec)}`.trimEnd()}`];
  if (spec.description) parts.push(spec.description);
  parts.push(`Options:\n${columns(optionRows(spec))}`);
  if (spec.listsExitStatus) parts.push(EXIT_STATUS);
  return parts.join('\n\n');
}

/** `netmode network --help`: the group's commands with their synopsis and summary. */
export function groupHelp(group: CommandGroup): string {
  const rows = group.commands.map((c) => [`${c.name} ${synopsis(c)}`.trimEnd(), c.summary] as const);
  return `Usage: netmode ${group.name} COMMAND\n\nCommands:\n${columns(rows)}`;
}

function globalOptionRows(): [string, string][] {
  return GLOBAL_OPTIONS.map((o) => {
    const value = o.kind === 'boolean' ? (o.key === 'help' || o.key === 'version' ? '' : '[=false]') : ` ${o.arg ?? 'VALUE'}`;
    return [`${o.short ? `-${o.short}, ` : '    '}--${o.long}${value}`, o.help + (o.env ? ` [${o.env}]` : '')];
  });
}

/** The global options of this client, not daemon settings (`--state-dir`, `--host`, …). */
function clientFlags(): string {
  return GLOBAL_OPTIONS.filter((o) => o.client === true && o.key !== 'help' && o.key !== 'version')
    .map((o) => `--${o.long}`)
    .join(', ');
}

/** `netmode --help`: usage, every command, the global options, the exit statuses. */
export function topHelp(declarations: readonly Declaration[]): string {
  const json = eachCommand(declarations)
    .filter(([, spec]) => 'json' in spec.options)
    .map(([path]) => path);
  return `Usage: netmode [GLOBAL OPTIONS] COMMAND [ARGS...]

Runs processes in Docker's network modes (bridge, host, none, container:NAME)
with the netmode SDK. Most commands need root.

Commands:
${columns(declarations.map((d) => [d.name, d.summary]))}

Global options (before the command; each has an environment variable, the flag wins):
${columns(globalOptionRows())}

Every global option but ${clientFlags()}
is a daemon setting: the first command that creates something keeps them in
the state directory, later commands use them; a new value is applied while
nothing it shapes is in use, or refused (ERR_SETTINGS_CONFLICT), never ignored.

Read commands (${json.join(', ')}) take --json.
Run netmode COMMAND --help for a command's options.

${EXIT_STATUS}`;
}
