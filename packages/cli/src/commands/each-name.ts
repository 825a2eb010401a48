import { ExitCode, describeFailure } from '../cli-error.js';
import type { Session } from '../session.js';

/**
 * Applies `work` to every name, as Docker does: a failure is reported and
 * the rest are still done; the status is that of the last failure.
 */
export async function eachName(session: Session, names: readonly string[], work: (name: string) => Promise<unknown>): Promise<number> {
  if (names.length === 1) {
    await work(names[0] as string);
    session.out.line(names[0]);
    return ExitCode.OK;
  }
  let status: number = ExitCode.OK;
  for (const name of names) {
    try {
      await work(name);
      session.out.line(name);
    } catch (error) {
      const failure = describeFailure(error);
      session.out.note(`${failure.code}: ${failure.message}`);
      if (failure.hint) session.out.note(`  hint: ${failure.hint}`);
      status = failure.exitCode;
    }
  }
  return status;
}
