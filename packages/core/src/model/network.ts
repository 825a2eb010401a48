/** One subnet of a network, with its gateway and the range addresses are leased from. */
export interface SubnetConfig {
  /** The subnet in CIDR form, canonical: `172.18.0.0/16`, `fd00:1::/64`. */
  readonly subnet: string;
  /** The gateway address inside the subnet (the bridge's address), without prefix length. */
  readonly gateway?: string;
  /** A CIDR inside `subnet` that container addresses are taken from (Docker's `--ip-range`). */
  readonly ipRange?: string;
}

/** What a caller asks for in `createNetwork()`. */
export interface NetworkSpec {
  /** The network's name: letters, digits, `_`, `.`, `-`, starting with a letter or digit; at most 128 characters. */
  readonly name: string;
  /** The driver that implements it, by its registered name (`bridge`, `macvlan`, …). */
  readonly driver: string;
  /** Subnets to use; when absent, a driver that needs one gets it from the IPAM pools. */
  readonly subnets?: readonly SubnetConfig[];
  /** A network with no route out of the host (Docker's `--internal`). */
  readonly internal?: boolean;
  /**
   * Whether netmode's embedded DNS server serves the network: containers on
   * it resolve each other's names and aliases, and their other questions
   * are forwarded (podman's `--disable-dns` is `false`). Default `true`
   * when the driver offers it (`NetworkDriver.embeddedDns`); `true`
   * with a driver that does not is refused.
   */
  readonly dns?: boolean;
  /** Driver-specific options, validated by the driver. */
  readonly options?: Readonly<Record<string, unknown>>;
  /** Free-form labels kept with the record. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** The life stage of a network record. */
export type NetworkStatus = 'creating' | 'ready' | 'removing';

/** A persisted network: what `listNetworks()` and `inspectNetwork()` return. */
export interface NetworkRecord {
  /** A random 64-hex-digit id, as Docker makes. */
  readonly id: string;
  /** The unique name, used in mode strings. */
  readonly name: string;
  /** The registered driver name. */
  readonly driver: string;
  /** `creating` and `removing` while the driver works; `ready` otherwise. Only ready networks take endpoints. */
  readonly status: NetworkStatus;
  /** Networks that a driver provides by itself (`host`, `none`, the default `bridge`); they cannot be removed. */
  readonly predefined: boolean;
  /** The subnets in use, with gateways, after IPAM has filled them in. */
  readonly subnets: readonly SubnetConfig[];
  /** Whether the network has no route out of the host. */
  readonly internal: boolean;
  /** Whether the embedded DNS server serves it (see {@link NetworkSpec.dns}); false on predefined networks. */
  readonly dns: boolean;
  /** Driver-specific options as validated and completed by the driver. */
  readonly options: Readonly<Record<string, unknown>>;
  /** Labels from the spec. */
  readonly labels: Readonly<Record<string, string>>;
  /** Driver-private facts the driver needs at teardown (for example whether it created the bridge). */
  readonly driverData: Readonly<Record<string, unknown>>;
  /** ISO-8601 time of creation. */
  readonly createdAt: string;
}
