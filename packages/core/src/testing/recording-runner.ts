import { ErrorCode, NetModeError } from '../errors.js';
import { classifyToolFailure } from '../exec/tool-failure.js';
import type { CommandResult, CommandRunner, CommandSpec } from '../exec/runner.js';
import { formatNetns } from '../model/netns-ref.js';

/** Decides whether a scripted reply applies to a command. */
export type CommandMatcher = (spec: CommandSpec) => boolean;

/** A scripted reply: output to return, an error to throw, or a function of the command. */
export type CommandReply = Partial<CommandResult> | Error | ((spec: CommandSpec) => Partial<CommandResult> | Error);

/**
 * A {@link CommandRunner} for unit tests: it starts nothing, records every
 * command, and answers from scripted replies (first match wins; empty output
 * otherwise). Compare {@link RecordingRunner.transcript} with the exact
 * scripts a change should produce.
 */
export class RecordingRunner implements CommandRunner {
  /** Every command run so far, in order. */
  readonly commands: CommandSpec[] = [];
  readonly #replies: { readonly match: CommandMatcher; readonly reply: CommandReply }[] = [];

  /** Scripts a reply for commands that `match` selects. */
  respond(match: CommandMatcher, reply: CommandReply): this {
    this.#replies.push({ match, reply });
    return this;
  }

  /** Makes commands that `match` selects fail as a real failure would (ERR_COMMAND_FAILED). */
  failOn(match: CommandMatcher, stderr = 'scripted failure'): this {
    return this.respond(
      match,
      (spec) =>
        new NetModeError(ErrorCode.COMMAND_FAILED, `${spec.command} failed: ${stderr}`, {
          context: { argv: [spec.command, ...spec.args], stderr, exitCode: 1 },
          failure: classifyToolFailure(stderr),
        }),
    );
  }

  async run(spec: CommandSpec): Promise<CommandResult> {
    this.commands.push(spec);
    const found = this.#replies.find((r) => r.match(spec));
    const reply = typeof found?.reply === 'function' ? found.reply(spec) : found?.reply;
    if (reply instanceof Error) throw reply;
    return { stdout: reply?.stdout ?? '', stderr: reply?.stderr ?? '', exitCode: 0, durationMs: 0 };
  }

  /**
   * Every recorded command as text: a header line `[netns] command args…`,
   * then its standard input indented by two spaces.
   */
  transcript(): string {
    return this.commands
      .map((spec) => {
        const header = `[${formatNetns(spec.netns ?? { kind: 'host' })}] ${[spec.command, ...spec.args].join(' ')}`;
        const input = spec.input
          ? spec.input
              .replace(/\n$/, '')
              .split('\n')
              .map((line) => `  ${line}`)
          : [];
        return [header, ...input].join('\n');
      })
      .join('\n');
  }

  /** Forgets the recorded commands (the scripted replies stay). */
  clear(): void {
    this.commands.length = 0;
  }
}

/** Matches commands whose tool is `command` and whose arguments start with `args`. */
export function commandMatches(command: string, ...args: string[]): CommandMatcher {
  return (spec) => spec.command === command && args.every((arg, i) => spec.args[i] === arg);
}
