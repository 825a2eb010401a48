import { ErrorCode, isNetModeError } from '../../errors.js';
import type { NetworkRecord, SubnetConfig } from '../../model/network.js';
import { networkOwner, type DriverContext } from '../network-driver.js';

/**
 * Reserves `subnet` in IPAM for `network`, once: what a driver calls for a
 * subnet the manager does not allocate through `createNetwork` — a
 * predefined network's (the default bridge's `bip`) or one read from an
 * existing link (Docker's `-b`) — before it leases addresses in it. A
 * subnet already held by the same network is success, also when another
 * process reserved it meanwhile.
 *
 * @param adoptRoute - the subnet is already routed by the network's own link
 *   (it exists and carries the gateway): host routes inside the subnet are
 *   then not overlaps. See `SubnetRequest.adoptRoute`.
 * @throws ERR_SUBNET_OVERLAP when another network or a host route holds it.
 */
export async function ensureSubnetReserved(
  ctx: DriverContext,
  network: NetworkRecord,
  subnet: SubnetConfig,
  adoptRoute = false,
): Promise<void> {
  const owner = networkOwner(network.id);
  const held = (s: { subnet: string; owner: string }) => s.subnet === subnet.subnet && s.owner === owner;
  if ((await ctx.ipam.listSubnets()).some(held)) return;
  try {
    await ctx.ipam.allocateSubnet(owner, {
      subnet: subnet.subnet,
      ...(subnet.gateway ? { gateway: subnet.gateway } : {}),
      ...(subnet.ipRange ? { ipRange: subnet.ipRange } : {}),
      adoptRoute,
    });
  } catch (error) {
    // Another process reserved it for the same network between our look and our allocation.
    if (isNetModeError(error, ErrorCode.SUBNET_OVERLAP) && (await ctx.ipam.listSubnets()).some(held)) return;
    throw error;
  }
}
