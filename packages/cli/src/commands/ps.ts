import { formatPort } from '../args/port-spec.js';
import { ExitCode } from '../cli-error.js';
import type { PsInput } from '../inputs/ps.js';
import type { Session } from '../session.js';
import { sandboxOf, shortCommand, view, type ContainerView } from './container-view.js';

function ago(iso: string): string {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86400)}d ago`;
}

/** `netmode ps [--json]` */
export async function psCommand(session: Session, { options }: PsInput): Promise<number> {
  const views: ContainerView[] = [];
  const { records, corrupt } = await session.containers.list();
  for (const record of records) views.push(view(session, record, await sandboxOf(session, record.name)));
  // A damaged record hides nothing else; say which file it is.
  for (const { error } of corrupt) session.out.note(`${error.code}: ${error.message}`);
  if (options.json) {
    session.out.json(views);
    return ExitCode.OK;
  }
  session.out.table(
    ['NAME', 'STATUS', 'PID', 'NETWORKS', 'ADDRESSES', 'PORTS', 'COMMAND', 'CREATED'],
    views.map((v) => [
      v.name,
      v.status,
      v.pid === null ? '-' : String(v.pid),
      v.networks.join(','),
      v.addresses.join(',') || '-',
      v.ports.map(formatPort).join(', ') || '-',
      shortCommand(v.command),
      ago(v.createdAt),
    ]),
  );
  return ExitCode.OK;
}
