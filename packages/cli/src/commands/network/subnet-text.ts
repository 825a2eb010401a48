import type { NetworkRecord } from '@netmode/core';

/** A network's subnets, comma-separated, or `-`. */
export function subnetText(network: NetworkRecord): string {
  return network.subnets.map((s) => s.subnet).join(',') || '-';
}
