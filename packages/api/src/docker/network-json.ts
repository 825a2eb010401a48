import type { Endpoint, NetworkRecord } from '@netmode/core';

/** One container on a network, as Docker's network inspect shows it. */
export interface DockerNetworkContainer {
  readonly Name: string;
  readonly EndpointID: string;
  readonly MacAddress: string;
  readonly IPv4Address: string;
  readonly IPv6Address: string;
}

/** A network as Docker's Engine API returns it (`GET /networks/{id}`). */
export interface DockerNetwork {
  readonly Name: string;
  readonly Id: string;
  readonly Created: string;
  readonly Scope: 'local';
  readonly Driver: string;
  readonly EnableIPv6: boolean;
  readonly IPAM: {
    readonly Driver: 'default';
    readonly Options: Record<string, string>;
    readonly Config: readonly { readonly Subnet: string; readonly Gateway?: string; readonly IPRange?: string }[];
  };
  readonly Internal: boolean;
  readonly Attachable: boolean;
  readonly Ingress: boolean;
  readonly ConfigFrom: { readonly Network: string };
  readonly ConfigOnly: boolean;
  readonly Containers: Record<string, DockerNetworkContainer>;
  readonly Options: Record<string, string>;
  readonly Labels: Record<string, string>;
}

/**
 * Docker's driver options that have a netmode option of their own, so that
 * `docker network create -o com.docker.network.bridge.name=br0` works as on
 * dockerd.
 */
export const DOCKER_OPTION_NAMES: Readonly<Record<string, { readonly name: string; readonly type: 'string' | 'number' | 'boolean' }>> = {
  'com.docker.network.bridge.name': { name: 'bridgeName', type: 'string' },
  'com.docker.network.driver.mtu': { name: 'mtu', type: 'number' },
  'com.docker.network.bridge.enable_icc': { name: 'icc', type: 'boolean' },
  'com.docker.network.bridge.enable_ip_masquerade': { name: 'ipMasq', type: 'boolean' },
};

/**
 * Docker's `Options` (all strings) as netmode driver options: the names of
 * {@link DOCKER_OPTION_NAMES} translated and their values typed; any other
 * key passes through for the driver to accept or refuse.
 */
export function netmodeOptions(options: Readonly<Record<string, string>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    const known = DOCKER_OPTION_NAMES[key];
    if (!known) out[key] = value;
    else if (known.type === 'number') out[known.name] = /^[0-9]+$/.test(value) ? Number(value) : value;
    else if (known.type === 'boolean') out[known.name] = value === 'true' ? true : value === 'false' ? false : value;
    else out[known.name] = value;
  }
  return out;
}

/** Docker's `Options` map holds strings only: other values are written as JSON. */
function stringOptions(options: Readonly<Record<string, unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(options)) out[key] = typeof value === 'string' ? value : JSON.stringify(value);
  return out;
}

/** A network record, and the endpoints on it, as Docker's JSON. */
export function dockerNetwork(network: NetworkRecord, endpoints: readonly Endpoint[]): DockerNetwork {
  const containers: Record<string, DockerNetworkContainer> = {};
  for (const endpoint of endpoints) {
    if (endpoint.networkId !== network.id) continue;
    const sandboxSide = endpoint.interfaces.find((i) => i.side === 'sandbox');
    containers[endpoint.containerId] = {
      Name: endpoint.names.name ?? endpoint.containerId,
      EndpointID: endpoint.id,
      MacAddress: sandboxSide?.mac ?? '',
      IPv4Address: endpoint.addresses.find((a) => !a.includes(':')) ?? '',
      IPv6Address: endpoint.addresses.find((a) => a.includes(':')) ?? '',
    };
  }
  return {
    Name: network.name,
    Id: network.id,
    Created: network.createdAt,
    Scope: 'local',
    Driver: network.driver,
    EnableIPv6: false,
    IPAM: {
      Driver: 'default',
      Options: {},
      Config: network.subnets.map((s) => ({
        Subnet: s.subnet,
        ...(s.gateway === undefined ? {} : { Gateway: s.gateway }),
        ...(s.ipRange === undefined ? {} : { IPRange: s.ipRange }),
      })),
    },
    Internal: network.internal,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: containers,
    Options: stringOptions(network.options),
    Labels: { ...network.labels },
  };
}
