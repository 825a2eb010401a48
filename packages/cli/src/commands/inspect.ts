import { formatNetns, netnsPath } from '@netmode/core';
import { formatPort } from '../args/port-spec.js';
import { ExitCode } from '../cli-error.js';
import type { InspectInput } from '../inputs/inspect.js';
import type { Session } from '../session.js';
import { endpointOf, shortCommand, view } from './container-view.js';

/** `netmode inspect [--json] NAME` */
export async function inspectCommand(session: Session, { options, name }: InspectInput): Promise<number> {
  const record = await session.containers.require(name);
  const endpoint = await endpointOf(session, name);
  const v = view(session, record, endpoint);
  if (options.json) {
    session.out.json({ ...v, endpoint: endpoint ?? null });
    return ExitCode.OK;
  }
  const rows: [string, string][] = [
    ['name', v.name],
    ['status', v.status],
    ['pid', v.pid === null ? '-' : String(v.pid)],
    ['mode', v.mode],
    ['network', v.network ?? '-'],
    ['driver', endpoint?.driver ?? '-'],
    ['sandbox', endpoint ? `${formatNetns(endpoint.netns)} (${netnsPath(endpoint.netns)})` : '-'],
    ['addresses', v.addresses.join(', ') || '-'],
    ['gateways', endpoint?.gateways.join(', ') || '-'],
    ['interfaces', endpoint?.interfaces.map((i) => `${i.name}@${i.side}`).join(', ') || '-'],
    ['ports', v.ports.map(formatPort).join(', ') || '-'],
    ['command', shortCommand(v.command)],
    ['detached', v.detached ? 'yes' : 'no'],
    ['created', v.createdAt],
    ['started', v.startedAt ?? '-'],
    ['log', v.log ?? '-'],
  ];
  session.out.table(['FIELD', 'VALUE'], rows);
  return ExitCode.OK;
}
