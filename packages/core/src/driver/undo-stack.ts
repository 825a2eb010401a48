import { TeardownError, asNetModeError, errorMessage, type NetModeError, type TeardownLeftover } from '../errors.js';

/** One recorded undo: what it removes, for the error if it fails, and how. */
interface UndoStep {
  readonly kind: string;
  readonly name: string;
  readonly undo: () => Promise<unknown>;
}

/**
 * Records the undo of every completed setup step so a failure can unwind
 * them last in, first out (the CNI bridge plugin's `success` flag and
 * deferred release, as an object).
 *
 * @example
 * ```ts
 * const undo = new UndoStack();
 * try {
 *   const ns = await ctx.sandboxes.create(name);
 *   undo.push('netns', name, () => ctx.sandboxes.delete(ns));
 *   …
 * } catch (error) {
 *   throw await undo.rollback(error);
 * }
 * ```
 */
export class UndoStack {
  readonly #steps: UndoStep[] = [];

  /** Records the undo of a step that just completed. */
  push(kind: string, name: string, undo: () => Promise<unknown>): void {
    this.#steps.push({ kind, name, undo });
  }

  /** How many steps are recorded. */
  get size(): number {
    return this.#steps.length;
  }

  /**
   * Runs every recorded undo, last first, each attempted even when an
   * earlier one failed, and returns what could not be undone.
   */
  async unwind(): Promise<TeardownLeftover[]> {
    const leftovers: TeardownLeftover[] = [];
    while (this.#steps.length > 0) {
      const step = this.#steps.pop() as UndoStep;
      try {
        await step.undo();
      } catch (error) {
        leftovers.push({ kind: step.kind, name: step.name, error });
      }
    }
    return leftovers;
  }

  /**
   * Unwinds, then returns the error to rethrow: the original one (wrapped as
   * ERR_DRIVER_FAILED if it was not a NetModeError), marked with
   * `rolledBack` (`NetModeError.markRolledBack`) and, when an undo failed,
   * `rollbackFailed` in its context listing what is left (a `TeardownError`
   * as `rollbackError`).
   */
  async rollback(cause: unknown): Promise<NetModeError> {
    const leftovers = await this.unwind();
    const error = asNetModeError(cause, 'setup failed');
    if (leftovers.length === 0) return error.markRolledBack(true);
    return error.markRolledBack(false, {
      rollbackFailed: leftovers.map((l) => `${l.kind} ${l.name}: ${errorMessage(l.error)}`),
      rollbackError: new TeardownError('rollback', leftovers),
    });
  }
}

/**
 * Runs every teardown step, collecting failures instead of stopping at the
 * first, and throws one `TeardownError` listing them all at the end.
 */
export class TeardownSteps {
  readonly #leftovers: TeardownLeftover[] = [];

  /** Runs one step; a failure is remembered and the next step still runs. */
  async step(kind: string, name: string, run: () => Promise<unknown>): Promise<void> {
    try {
      await run();
    } catch (error) {
      this.#leftovers.push({ kind, name, error });
    }
  }

  /** Throws a `TeardownError` for `what` when any step failed. */
  finish(what: string): void {
    if (this.#leftovers.length > 0) throw new TeardownError(what, this.#leftovers);
  }
}
