import { ErrorCode, NetModeError } from '../errors.js';
import type { CommandResult, CommandRunner, CommandSpec } from '../exec/runner.js';

/** When the injected failure happens relative to the chosen command. */
export type FaultTiming = 'before' | 'after';

/**
 * Wraps a real runner and makes its `failAt`-th command (1-based) fail:
 * `before` running it (the kernel never saw it) or `after` (it took effect,
 * but the caller is told it failed). Integration tests use it to prove that
 * every step of an attach rolls back.
 */
export class FaultInjectingRunner implements CommandRunner {
  /** How many commands were run or failed so far. */
  count = 0;
  readonly #inner: CommandRunner;
  readonly #failAt: number;
  readonly #timing: FaultTiming;

  constructor(inner: CommandRunner, failAt: number, timing: FaultTiming = 'before') {
    this.#inner = inner;
    this.#failAt = failAt;
    this.#timing = timing;
  }

  async run(spec: CommandSpec): Promise<CommandResult> {
    this.count += 1;
    if (this.count !== this.#failAt) return this.#inner.run(spec);
    if (this.#timing === 'after') await this.#inner.run(spec);
    throw new NetModeError(ErrorCode.COMMAND_FAILED, `injected failure of command ${this.count} (${this.#timing})`, {
      context: { argv: [spec.command, ...spec.args], injected: true },
    });
  }
}

/** Wraps a runner and counts the commands that pass through it. */
export class CountingRunner implements CommandRunner {
  /** Commands run so far. */
  count = 0;
  readonly #inner: CommandRunner;

  constructor(inner: CommandRunner) {
    this.#inner = inner;
  }

  run(spec: CommandSpec): Promise<CommandResult> {
    this.count += 1;
    return this.#inner.run(spec);
  }
}
