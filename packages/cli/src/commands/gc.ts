import { errorMessage } from '@netmode/core';
import { CliError, CliErrorCode, ExitCode } from '../cli-error.js';
import { containerStatus, processOf } from '../containers/container-store.js';
import { removeContainer } from '../containers/lifecycle.js';
import type { GcInput } from '../inputs/gc.js';
import type { Session } from '../session.js';

/**
 * `netmode gc`: removes every exited container (disconnects it and forgets
 * it), then runs the SDK's garbage collection. Containers being started by a
 * live `run` are left alone, a container that starts running meanwhile is
 * skipped, and one failure never stops the rest.
 */
export async function gcCommand(session: Session, { options }: GcInput): Promise<number> {
  // Taken before the listing: an endpoint made after it cannot be in the list.
  const listedAt = new Date();
  const { records, corrupt } = await session.containers.list();
  const pruned: string[] = [];
  const failures = corrupt.map(({ error }) => error.message);
  const kept: string[] = corrupt.map(({ key }) => key.slice('cli/containers/'.length));
  for (const record of records) {
    const status = containerStatus(record);
    if (status !== 'exited') {
      kept.push(record.name);
      // A process whose starter died before recording it: record it now.
      const found = record.process ? undefined : processOf(record);
      if (found) await session.containers.update(record.name, { process: found });
      continue;
    }
    try {
      await removeContainer(session, record.name, { force: false });
      pruned.push(record.name);
    } catch (error) {
      kept.push(record.name);
      // Started meanwhile: it is no longer gc's to remove.
      if (error instanceof CliError && error.code === CliErrorCode.CONTAINER_RUNNING) continue;
      failures.push(`${record.name}: ${errorMessage(error)}`);
    }
  }
  // Then the SDK's garbage collection: every endpoint no container of this
  // state directory owns, and stray objects of this instance.
  const report = await session.netmode.gc(kept, { listedAt });
  failures.push(...report.failures);
  if (options.json) {
    session.out.json({ pruned, ...report, failures });
  } else {
    for (const name of pruned) session.out.line(name);
    for (const name of report.disconnected) session.out.line(name);
    for (const object of report.removedObjects) session.out.line(`removed ${object}`);
    for (const failure of failures) session.out.note(`could not: ${failure}`);
  }
  return failures.length > 0 ? ExitCode.FAILED : ExitCode.OK;
}
