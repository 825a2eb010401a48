import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { parseGlobalOptions } from './args/global-options.js';
import { CliError, ExitCode, describeFailure, usage } from './cli-error.js';
import { helpFor } from './commands/help.js';
import { Output } from './output/output.js';
import type { Session } from './session.js';

type Command = (session: Session, args: readonly string[]) => Promise<number>;

// Loaded on demand: the SDK and its drivers take a noticeable part of a
// second to load, which --help and a usage error should not pay.
const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  run: async () => (await import('./commands/containers.js')).runCommand,
  exec: async () => (await import('./commands/containers.js')).execCommand,
  ps: async () => (await import('./commands/containers.js')).psCommand,
  inspect: async () => (await import('./commands/containers.js')).inspectCommand,
  stop: async () => (await import('./commands/containers.js')).stopCommand,
  rm: async () => (await import('./commands/containers.js')).rmCommand,
  gc: async () => (await import('./commands/containers.js')).gcCommand,
  reconcile: async () => (await import('./commands/containers.js')).reconcileCommand,
  network: async () => (await import('./commands/network.js')).networkCommand,
  doctor: async () => (await import('./commands/doctor.js')).doctorCommand,
  demo: async () => (await import('./commands/demo.js')).demoCommand,
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * Runs one `netmode` invocation and resolves with its exit status. Every
 * error ends here: printed as `ERR_CODE: message` and a hint on stderr.
 */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, out = new Output()): Promise<number> {
  let debug = env['NETMODE_DEBUG'] === 'true' || env['NETMODE_DEBUG'] === '1';
  let commandName: string | undefined;
  try {
    const parsed = parseGlobalOptions(argv, env);
    debug = parsed.globals.debug;
    if (parsed.version) {
      out.line(`netmode ${version()}`);
      return ExitCode.OK;
    }
    const [name, ...args] = parsed.rest;
    if (parsed.help || name === 'help') {
      out.line(helpFor(name === 'help' ? args.join(' ') || undefined : undefined));
      return ExitCode.OK;
    }
    if (name === undefined) {
      out.note(helpFor());
      return ExitCode.USAGE;
    }
    const load = COMMANDS[name];
    if (!load) throw usage(`unknown command ${JSON.stringify(name)}; see netmode --help`);
    commandName = name;
    const [command, { Session }] = await Promise.all([load(), import('./session.js')]);
    return await command(new Session(parsed.globals, out), args);
  } catch (error) {
    if (error instanceof Error && error.name === 'Interrupted') {
      const signal = (error as Error & { signal: NodeJS.Signals }).signal;
      out.note(error.message);
      return 128 + (constants.signals[signal] ?? 0);
    }
    const failure = describeFailure(error);
    out.note(`${failure.code}: ${failure.message}`);
    for (const line of failure.details) out.note(`  ${line}`);
    if (failure.hint) out.note(`  hint: ${failure.hint}`);
    if (debug) {
      if (error instanceof Error && typeof (error as { toJSON?: unknown }).toJSON === 'function') out.note(JSON.stringify(error, null, 2));
      if (error instanceof Error && error.stack) out.note(error.stack);
    }
    // As Docker: anything that fails before `run` starts its command is 125.
    if (commandName === 'run' && (failure.exitCode === ExitCode.USAGE || failure.exitCode === ExitCode.FAILED)) {
      return ExitCode.RUN_FAILED;
    }
    return error instanceof CliError ? error.exitCode : failure.exitCode;
  }
}
