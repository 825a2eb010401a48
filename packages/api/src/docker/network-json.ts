import type { Endpoint, NetworkRecord } from '@netmode/core';

/** One container on a network, as Docker's network inspect shows it. */
export interface DockerNetworkContainer {
  /** The container's name: its `name` setting, or its netmode container id. */
  readonly Name: string;
  /** The netmode endpoint id. */
  readonly EndpointID: string;
  /** The MAC address of the container's interface, when known. */
  readonly MacAddress: string;
  /** Its IPv4 address in CIDR form, or empty. */
  readonly IPv4Address: string;
  /** Its IPv6 address in CIDR form, or empty. */
  readonly IPv6Address: string;
}

/** A network as Docker's Engine API returns it (`GET /networks/{id}`). */
export interface DockerNetwork {
  /** The network's name. */
  readonly Name: string;
  /** Its 64-hex-digit id. */
  readonly Id: string;
  /** When it was created, ISO 8601. */
  readonly Created: string;
  /** Always `local`: its records live on this host. */
  readonly Scope: 'local';
  /** The netmode driver. */
  readonly Driver: string;
  /** Always false: IPv4 networks only. */
  readonly EnableIPv6: boolean;
  /** The subnets, as Docker's default IPAM driver reports them. */
  readonly IPAM: {
    /** Always `default`. */
    readonly Driver: 'default';
    /** Always empty. */
    readonly Options: Record<string, string>;
    /** One entry per subnet. */
    readonly Config: readonly {
      /** The subnet, CIDR. */
      readonly Subnet: string;
      /** Its gateway (the bridge's address). */
      readonly Gateway?: string;
      /** The part addresses are leased from. */
      readonly IPRange?: string;
    }[];
  };
  /** Whether the network has no route out of the host. */
  readonly Internal: boolean;
  /** Always false (a swarm setting). */
  readonly Attachable: boolean;
  /** Always false (a swarm setting). */
  readonly Ingress: boolean;
  /** Always `{Network: ""}`: no configuration-only networks. */
  readonly ConfigFrom: {
    /** Always empty. */
    readonly Network: string;
  };
  /** Always false. */
  readonly ConfigOnly: boolean;
  /** The containers on it, by netmode container id (empty in the list, as dockerd's). */
  readonly Containers: Record<string, DockerNetworkContainer>;
  /** The driver options, every value as a string. */
  readonly Options: Record<string, string>;
  /** The labels. */
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
