import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { parseGlobalOptions } from './args/global-options.js';
import { CliError, ExitCode, describeFailure, usage } from './cli-error.js';
import { COMMANDS } from './declarations/index.js';
import type { CommandSpec } from './registry/command-spec.js';
import { commandHelp, groupHelp, topHelp } from './registry/help-text.js';
import { findCommand, helpFor } from './registry/lookup.js';
import { parseCommand } from './registry/parse-command.js';
import { Output } from './output/output.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * Runs one `netmode` invocation and resolves with its exit status. Every
 * error ends here: printed as `ERR_CODE: message` and a hint on stderr.
 *
 * Everything up to the handler (global options, the command's declaration,
 * its parse and checks, `--help`) loads no module of the SDK: the SDK and its
 * drivers take a noticeable part of a second to load, which `--help` and a
 * usage error should not pay. The handler and the session load it.
 */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, out = new Output()): Promise<number> {
  let debug = env['NETMODE_DEBUG'] === 'true' || env['NETMODE_DEBUG'] === '1';
  let command: CommandSpec | undefined;
  try {
    const parsed = parseGlobalOptions(argv, env);
    debug = parsed.globals.debug;
    if (parsed.version) {
      out.line(`netmode ${version()}`);
      return ExitCode.OK;
    }
    const [name, ...args] = parsed.rest;
    if (parsed.help || name === 'help') {
      out.line(helpFor(COMMANDS, name === 'help' ? args : []));
      return ExitCode.OK;
    }
    if (name === undefined) {
      out.note(topHelp(COMMANDS));
      return ExitCode.USAGE;
    }
    const found = findCommand(COMMANDS, name, args);
    if (found.kind === 'group') {
      out.line(groupHelp(found.group));
      return found.status;
    }
    command = found.spec;
    if (parsed.globals.host !== undefined && found.spec.embedsSdk !== true && parsed.sdkFlags.length > 0) {
      throw usage(
        `${parsed.sdkFlags.join(', ')}: with -H (or NETMODE_HOST) the SDK's settings are the daemon's; give them to netmode daemon`,
      );
    }
    const request = parseCommand(found.spec, found.path, found.args, parsed.globals);
    if (request.help) {
      out.line(commandHelp(found.path, found.spec));
      return ExitCode.OK;
    }
    const [handle, { Session }] = await Promise.all([found.spec.handler(), import('./session.js')]);
    const session = await Session.open(parsed.globals, out, found.spec.embedsSdk === true ? 'embedded' : 'auto', {
      settings: found.spec.daemonSettings ?? 'apply',
      command: found.path,
    });
    try {
      return await handle(session, request.input);
    } finally {
      await session.close();
    }
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
    if (command?.failureStatus !== undefined && (failure.exitCode === ExitCode.USAGE || failure.exitCode === ExitCode.FAILED)) {
      return command.failureStatus;
    }
    return error instanceof CliError ? error.exitCode : failure.exitCode;
  }
}
