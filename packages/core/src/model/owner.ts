/**
 * Who a kernel object, a rule or a lease belongs to: a network or an
 * endpoint, named by one mark everywhere netmode writes it — IPAM and port
 * leases, nft element comments, iptables rule comments (with `netmode:` in
 * front), link aliases (with the instance id in front).
 *
 * @module
 */

/** An owner, as a value. */
export interface Owner {
  /** A network (`network:ID`) or an endpoint (`endpoint:ID`). */
  readonly kind: 'network' | 'endpoint';
  /** The network's or endpoint's id. */
  readonly id: string;
}

/** The mark of an endpoint (a container's attachment): `endpoint:ID`. */
export function endpointOwner(endpointId: string): string {
  return `endpoint:${endpointId}`;
}

/** The mark of a network: `network:ID`. */
export function networkOwner(networkId: string): string {
  return `network:${networkId}`;
}

/** The mark of an owner: `network:ID` or `endpoint:ID`. */
export function ownerMark(owner: Owner): string {
  return `${owner.kind}:${owner.id}`;
}

/** The owner a mark names, or undefined when it is no netmode mark. */
export function parseOwnerMark(mark: string | undefined): Owner | undefined {
  const match = mark === undefined ? null : /^(network|endpoint):(.+)$/.exec(mark);
  return match ? { kind: match[1] as Owner['kind'], id: match[2] as string } : undefined;
}
