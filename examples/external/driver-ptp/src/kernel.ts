import { IpBatch } from '@netmode/core';

/** What one ptp endpoint is made of: a veth pair and the routes across it. */
export interface PtpPair {
  /** The host end, in the host namespace (`ctx.interfaceName(endpointId, 'p')`). */
  readonly hostVeth: string;
  /** The ownership mark the host end carries as its alias (`ctx.ownerAlias(endpointOwner(endpointId))`). */
  readonly alias: string;
  /** The container end's name inside the sandbox (`eth0` unless the caller chose one). */
  readonly ifname: string;
  /** The file pinning the sandbox the container end is born in (`/run/netns/NAME`, `/proc/PID/ns/net`). */
  readonly netnsPath: string;
  /** The MTU of both ends. */
  readonly mtu: number;
  /** The container end's MAC, when the caller chose one; the kernel picks one otherwise. */
  readonly mac?: string;
  /** The container's address, without prefix length. */
  readonly address: string;
  /** The network's gateway: the address every host end of the network carries. */
  readonly gateway: string;
  /** Whether this endpoint provides the sandbox's default route (the manager's `request.defaultRoute`). */
  readonly defaultRoute: boolean;
}

/**
 * The host-side batch: the pair, with no bridge, its container end born in
 * the sandbox; the ownership mark; the gateway as a /32 on the host end; and
 * the host route that makes the container reachable, through its own veth.
 *
 * The gateway address is the same on every host end of the network: each
 * container sees one router, whichever veth it sits behind. Its scope is
 * `link` so that the host never picks it as the source of traffic to
 * anywhere but the container behind that veth.
 */
export function hostSide(pair: PtpPair): IpBatch {
  return new IpBatch()
    .vethAdd(pair.hostVeth, undefined, pair.mtu, pair.ifname, pair.netnsPath, pair.mac)
    .linkAlias(pair.hostVeth, pair.alias)
    .addressAdd(`${pair.gateway}/32`, pair.hostVeth, { scope: 'link' })
    .routeAdd({ to: pair.address, dev: pair.hostVeth, scope: 'link' });
}

/**
 * The batch inside the sandbox: the container's address as a /32, so the
 * kernel adds no subnet route and nothing is on-link but the gateway; a
 * `scope link` route that puts the gateway on-link; the default route via
 * it, when this endpoint provides it. Even a neighbour on the same network is reached through the host.
 */
export function sandboxSide(pair: PtpPair): IpBatch {
  const batch = new IpBatch()
    .linkUp('lo')
    .addressAdd(`${pair.address}/32`, pair.ifname)
    .linkUp(pair.ifname)
    .routeAdd({ to: pair.gateway, dev: pair.ifname, scope: 'link' });
  return pair.defaultRoute ? batch.defaultRouteAdd(pair.gateway, pair.ifname) : batch;
}
