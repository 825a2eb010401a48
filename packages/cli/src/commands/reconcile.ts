import { ExitCode } from '../cli-error.js';
import type { ReconcileInput } from '../inputs/reconcile.js';
import type { Session } from '../session.js';

/** `netmode reconcile [--json]`: repair after a crash, a reboot or a flushed firewall. */
export async function reconcileCommand(session: Session, { options }: ReconcileInput): Promise<number> {
  const report = await session.netmode.reconcile();
  if (options.json) {
    session.out.json(report);
  } else {
    const lines: [string, readonly string[]][] = [
      ['finished', report.finished],
      ['lost', report.lost],
      ['broken', report.broken],
      ['repaired', report.repaired],
    ];
    for (const [what, names] of lines) if (names.length > 0) session.out.line(`${what}: ${names.join(' ')}`);
    session.out.line(`released leases: ${report.releasedLeases}`);
    for (const failure of report.failures) session.out.note(`could not: ${failure}`);
  }
  return report.failures.length > 0 ? ExitCode.FAILED : ExitCode.OK;
}
