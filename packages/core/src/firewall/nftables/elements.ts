import { SET } from './base.js';
import { endpointOwner, ifnameLiteral, networkOwner, type NftElement } from './script.js';
import type { ValidEndpoint, ValidNetwork } from '../validate.js';

/**
 * The elements that stand for one network or one endpoint in the base's sets
 * and maps: all the state the nftables backend keeps.
 *
 * @module
 */

/** The elements a network's setup adds, as its flags select them. */
export function networkElements(network: ValidNetwork): NftElement[] {
  const all = bridgeElements(network);
  const wanted = new Set<string>([SET.bridges, SET.bridgePairs]);
  if (!network.icc) wanted.add(SET.iccOff);
  if (network.ipMasq && !network.internal) wanted.add(SET.masqBridges);
  if (network.internal) wanted.add(SET.internalBridges);
  return [...all.filter((element) => wanted.has(element.set)), ...subnetElements(network), ...dnsElements(network)];
}

/**
 * The elements a network's teardown removes: every bridge-keyed element the
 * network could own, whatever its flags say now, so a flag changed between
 * setup and teardown leaves nothing behind.
 */
export function networkTeardownElements(network: ValidNetwork): NftElement[] {
  return [...bridgeElements(network), ...subnetElements(network), ...dnsElements(network)];
}

/**
 * The map elements that publish an endpoint's ports, one per port, and for
 * a port the userland proxy serves, the two that keep its own bridge's and
 * the host's loopback packets for the proxy.
 */
export function endpointElements(endpoint: ValidEndpoint): NftElement[] {
  const owner = endpointOwner(endpoint.endpointId);
  return endpoint.ports.flatMap((port) => {
    const value = `${endpoint.address} . ${port.containerPort}`;
    const key = port.hostIp === undefined ? `${port.protocol} . ${port.hostPort}` : `${port.hostIp} . ${port.protocol} . ${port.hostPort}`;
    const published: NftElement = { set: port.hostIp === undefined ? SET.pubAny4 : SET.pubIp4, key, value, owner };
    if (port.proxied !== true) return [published];
    const proxy = port.hostIp === undefined ? SET.proxyAny4 : SET.proxyIp4;
    return [
      published,
      { set: proxy, key: `${ifnameLiteral(endpoint.bridge)} . ${key}`, owner },
      { set: proxy, key: `${ifnameLiteral('lo')} . ${key}`, owner },
    ];
  });
}

function bridgeElements(network: ValidNetwork): NftElement[] {
  const owner = networkOwner(network.networkId);
  const bridge = ifnameLiteral(network.bridge);
  const pair = `${bridge} . ${bridge}`;
  return [
    { set: SET.bridges, key: bridge, owner },
    { set: SET.bridgePairs, key: pair, owner },
    { set: SET.iccOff, key: pair, owner },
    { set: SET.masqBridges, key: bridge, owner },
    { set: SET.internalBridges, key: bridge, owner },
  ];
}

function subnetElements(network: ValidNetwork): NftElement[] {
  const owner = networkOwner(network.networkId);
  return network.subnets.map((subnet) => ({ set: SET.subnets4, key: subnet, owner }));
}

function dnsElements(network: ValidNetwork): NftElement[] {
  if (network.dnsAddress === undefined) return [];
  const owner = networkOwner(network.networkId);
  return [
    { set: SET.dnsListeners, key: `${ifnameLiteral(network.bridge)} . ${network.dnsAddress}`, owner },
    { set: SET.dnsAddrs, key: network.dnsAddress, owner },
  ];
}
