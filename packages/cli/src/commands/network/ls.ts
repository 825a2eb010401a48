import { ExitCode } from '../../cli-error.js';
import type { NetworkLsInput } from '../../inputs/network.js';
import type { Session } from '../../session.js';
import { subnetText } from './subnet-text.js';

/** `netmode network ls [--json]` */
export async function networkLsCommand(session: Session, { options }: NetworkLsInput): Promise<number> {
  const networks = await session.netmode.listNetworks();
  if (options.json) {
    session.out.json(networks);
    return ExitCode.OK;
  }
  session.out.table(
    ['NETWORK ID', 'NAME', 'DRIVER', 'SUBNET', 'GATEWAY', 'FLAGS'],
    networks.map((n) => [
      n.id.slice(0, 12),
      n.name,
      n.driver,
      subnetText(n),
      n.subnets
        .map((s) => s.gateway ?? '')
        .filter(Boolean)
        .join(',') || '-',
      [n.predefined ? 'predefined' : '', n.internal ? 'internal' : '', n.status === 'ready' ? '' : n.status].filter(Boolean).join(',') ||
        '-',
    ]),
  );
  return ExitCode.OK;
}
