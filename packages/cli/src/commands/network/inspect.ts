import { ExitCode } from '../../cli-error.js';
import type { NetworkInspectInput } from '../../inputs/network.js';
import type { Session } from '../../session.js';
import { subnetText } from './subnet-text.js';

/** `netmode network inspect [--json] NAME` */
export async function networkInspectCommand(session: Session, { options, name }: NetworkInspectInput): Promise<number> {
  const netmode = session.netmode;
  const network = await netmode.inspectNetwork(name);
  const containers = (await netmode.list())
    .filter((e) => e.networkId === network.id)
    .map((e) => ({ name: e.containerId, status: e.status, addresses: e.addresses }));
  if (options.json) {
    session.out.json({ ...network, containers });
    return ExitCode.OK;
  }
  const rows: [string, string][] = [
    ['name', network.name],
    ['id', network.id],
    ['driver', network.driver],
    ['status', network.status],
    ['predefined', network.predefined ? 'yes' : 'no'],
    ['internal', network.internal ? 'yes' : 'no'],
    ['subnet', subnetText(network)],
    ['gateway', network.subnets.map((s) => s.gateway ?? '-').join(',') || '-'],
    ['ip range', network.subnets.map((s) => s.ipRange ?? '-').join(',') || '-'],
    ...Object.entries(network.options).map(([k, v]): [string, string] => [`option ${k}`, String(v)]),
    ['created', network.createdAt],
    ['containers', containers.map((c) => `${c.name} ${c.addresses.join(',') || ''}`.trim()).join('; ') || '-'],
  ];
  session.out.table(['FIELD', 'VALUE'], rows);
  return ExitCode.OK;
}
