import { Interrupted } from '../containers/lifecycle.js';
import type { Output } from '../output/output.js';

/** One timed step of the demo, as the equivalent command line. */
export interface Step {
  readonly command: string;
  readonly ms: number;
  readonly result?: string;
}

/**
 * The demo under way: where it writes, the steps it timed, and whether a
 * signal asked it to stop. Every step goes through {@link timed}, so that
 * none starts after a signal and the signal handler can wait for the one
 * under way.
 */
export class DemoRun {
  readonly out: Output;
  /** `--json`: the steps print nothing, the report is one JSON document. */
  readonly json: boolean;
  /** The steps that set the demo up, in order. */
  readonly steps: Step[] = [];
  /** The steps that removed it, in order. */
  readonly teardown: Step[] = [];
  /** The signal that asked the demo to stop, once one did. */
  interrupted: NodeJS.Signals | undefined;
  #inFlight: Promise<unknown> = Promise.resolve();

  constructor(out: Output, json: boolean) {
    this.out = out;
    this.json = json;
  }

  /** A line of the human report; nothing with `--json`. */
  say(text = ''): void {
    if (!this.json) this.out.line(text);
  }

  /** Prints a step as `$ COMMAND`, its time and its result, in the report's columns. */
  sayStep(step: Step): void {
    this.say(`$ ${step.command}`.padEnd(78) + ` ${step.ms.toFixed(1).padStart(7)} ms${step.result ? `  ${step.result}` : ''}`);
  }

  /** Throws {@link Interrupted} once a signal asked the demo to stop. */
  throwIfInterrupted(): void {
    if (this.interrupted) throw new Interrupted(this.interrupted);
  }

  /** Settles when the step under way, if any, has ended (either way). */
  settled(): Promise<unknown> {
    return this.#inFlight;
  }

  /** Runs one set-up step, shown as `command`, timed, and printed with `result(value)`. */
  async timed<T>(command: string, work: () => Promise<T>, result?: (value: T) => string): Promise<T> {
    this.throwIfInterrupted();
    const started = performance.now();
    const pending = this.out.progress(command, work);
    this.#inFlight = pending.catch(() => {});
    const value = await pending;
    const step: Step = { command, ms: performance.now() - started, ...(result ? { result: result(value) } : {}) };
    this.steps.push(step);
    this.sayStep(step);
    return value;
  }
}
