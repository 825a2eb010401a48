import {
  IpBatch,
  TeardownSteps,
  UndoStack,
  FIREWALL,
  FIREWALL_REGISTRY,
  endpointOwner,
  errorMessage,
  invalidConfig,
  isNetModeError,
  isToolFailure,
  macFromIpv4,
  netnsPath,
  listLinks,
  networkOwner,
  ownerMark,
  parseAddress,
  parseNetwork,
  cidrContains,
  deleteLinkIfPresent,
  embeddedDnsAddress,
  ensureSubnetReserved,
  formatCidr,
  inject,
  injectable,
  parseCidr,
  readLink,
  readRoutes,
  readSysctl,
  runIpBatch,
  writeSysctls,
  type AttachRequest,
  type AttachResult,
  type CheckReport,
  type DriverContext,
  type Endpoint,
  type Firewall,
  type FirewallEndpoint,
  type FirewallNetwork,
  type FirewallPort,
  type FirewallRegistry,
  type FirewallScope,
  type GcScope,
  type NetnsRef,
  type NetworkDriver,
  type NetworkRecord,
  type NetworkSetup,
  type NetworkSpec,
  type PortMapping,
  type PortRequest,
  type SubnetConfig,
} from '@netmode/core';
import { ensureBridge, existingBridgeSubnet, flushUdpConntrack, hostAddresses } from './kernel.js';
import {
  defaultNetworkSettings,
  readSettings,
  settleNetworkOptions,
  validateNetworkSpec,
  type BridgeSettings,
} from './network-settings.js';
import { BRIDGE_DRIVER_OPTIONS, type ResolvedBridgeOptions } from './options.js';

/** A network whose bridge and firewall base are known to be in place in this process. */
interface LiveNetwork {
  readonly settings: BridgeSettings;
  readonly subnet: SubnetConfig & { readonly gateway: string };
  readonly prefixLength: number;
  readonly firewall: FirewallNetwork;
}

/** What the driver keeps in an endpoint record for detach and check. */
interface BridgeEndpointData {
  readonly bridge: string;
  readonly hostVeth: string;
  readonly ifname: string;
  readonly address: string;
  readonly firewallPorts: readonly FirewallPort[];
  /**
   * The network's `icc` at attach; with `false` the firewall isolated the
   * host veth. Absent in records written before netmode isolated ports.
   */
  readonly icc?: boolean;
  /**
   * The container interface's MAC, the only source MAC its isolated port
   * lets through. Absent in records written before; the sandbox interface's
   * `mac` in the endpoint record says the same.
   */
  readonly mac?: string;
}

/** The batches of one attach's kernel side, and what a retry or an event needs. */
interface PlumbWork {
  /** The host-side batch: `netns add` (owned sandbox) and the pair. */
  readonly host: IpBatch;
  /** The pair alone, for the retry after a lingering link. */
  readonly pair: IpBatch;
  /** The batch run inside the sandbox. */
  readonly inside: IpBatch;
  readonly netns: NetnsRef;
  readonly owned: boolean;
  readonly hostVeth: string;
  /** The sandbox interface to set arp_notify on first, if any. */
  readonly arpNotify: string | undefined;
}

const DEFAULT_IFNAME = 'eth0';

/**
 * Docker's bridge mode: a veth pair per container, its host end on a Linux
 * bridge and its peer born inside the sandbox; an address from IPAM; a
 * default route via the bridge; masquerade, published ports and isolation in
 * the firewall backend chosen by the driver options.
 */
@injectable()
export class BridgeDriver implements NetworkDriver {
  readonly name = 'bridge';
  readonly embeddedDns = true;
  readonly predefinedNetworks: readonly NetworkSpec[];
  readonly #options: ResolvedBridgeOptions;
  readonly #firewall: Firewall;
  readonly #live = new Map<string, Promise<LiveNetwork>>();

  constructor(
    @inject(BRIDGE_DRIVER_OPTIONS) options: ResolvedBridgeOptions,
    @inject(FIREWALL_REGISTRY) firewalls: FirewallRegistry,
    @inject(FIREWALL) firewall: Firewall,
  ) {
    this.#options = options;
    // The instance's firewall, unless this driver's options name another
    // backend (registerBridgeDriver checked that it exists and can do what the options ask).
    this.#firewall = options.firewall === undefined ? firewall : firewalls.get(options.firewall, 'firewall');
    this.predefinedNetworks = [
      {
        name: 'bridge',
        driver: 'bridge',
        subnets: options.bridge ? [] : [{ subnet: options.subnet, gateway: options.gateway }],
        options: { ...defaultNetworkSettings(options) },
      },
    ];
  }

  validateNetwork(spec: NetworkSpec): void {
    validateNetworkSpec(spec, this.#options, this.#firewall);
  }

  async createNetwork(network: NetworkRecord, ctx: DriverContext): Promise<NetworkSetup> {
    const settings = settleNetworkOptions(network, this.#options, ctx.interfaceName(network.id, 'b'));
    const undo = new UndoStack();
    try {
      let subnet: SubnetConfig;
      if (settings.existing) {
        subnet = await existingBridgeSubnet(ctx, settings.bridge);
      } else {
        subnet = await ctx.ipam.allocateSubnet(networkOwner(network.id), network.subnets[0] ?? {});
        undo.push('subnet', subnet.subnet, () => ctx.ipam.releaseSubnet(subnet.subnet));
      }
      const record: NetworkRecord = { ...network, subnets: [subnet], options: { ...settings } };
      const live = await this.#bringUp(record, ctx, true, undo);
      this.#live.set(network.id, Promise.resolve(live));
      return { subnets: [live.subnet], options: { ...settings } };
    } catch (error) {
      throw await undo.rollback(error);
    }
  }

  async removeNetwork(network: NetworkRecord, ctx: DriverContext): Promise<void> {
    this.#live.delete(network.id);
    // A network whose creation crashed still holds the caller's options and
    // maybe no subnet: settle them again, and ask IPAM what it reserved.
    const settings =
      'existing' in network.options
        ? readSettings(network)
        : settleNetworkOptions(network, this.#options, ctx.interfaceName(network.id, 'b'));
    const steps = new TeardownSteps();
    const subnet =
      network.subnets.find((s) => s.gateway !== undefined) ??
      (await ctx.ipam.listSubnets()).find((s) => s.owner === networkOwner(network.id));
    if (subnet) {
      await steps.step('firewall', network.name, () =>
        this.#firewall.teardownNetwork(scope(ctx), firewallNetwork(network, settings, subnet)),
      );
    }
    if (!settings.existing) {
      await steps.step('link', settings.bridge, () => deleteLinkIfPresent(ctx, ctx.hostNetns, settings.bridge));
    }
    steps.finish(`removing network ${network.name}`);
  }

  validate(request: AttachRequest): void {
    const { options, network } = request;
    if (options.ip !== undefined) {
      const ip = parseAddress(options.ip, 'ip');
      if (ip.family !== 4) throw invalidConfig('ip', 'the bridge driver supports IPv4 addresses only in this version');
      const subnet = network.subnets[0];
      if (subnet && !cidrContains(parseNetwork(subnet.subnet), ip)) {
        throw invalidConfig('ip', `${options.ip} is outside the network's subnet ${subnet.subnet}`);
      }
    }
    const ports = options.ports ?? [];
    if (ports.length > 0 && network.internal) {
      throw invalidConfig('ports', `cannot be published on the internal network ${network.name}: it has no way in or out`);
    }
    if (ports.length > 0 && !this.#firewall.capabilities.publishPorts && !this.#options.userlandProxy) {
      throw invalidConfig(
        'ports',
        `cannot be published with the ${this.#firewall.name} firewall backend (it writes no rule to forward them); the userland proxy (userlandProxy: true, the CLI's --userland-proxy) publishes them without rules`,
      );
    }
    for (const [index, port] of ports.entries()) {
      if (port.hostIp !== undefined && parseAddress(port.hostIp, `ports[${index}].hostIp`).family !== 4) {
        throw invalidConfig(`ports[${index}].hostIp`, 'the bridge driver publishes on IPv4 host addresses only in this version');
      }
    }
  }

  async attach(request: AttachRequest, ctx: DriverContext): Promise<AttachResult> {
    const { containerId, endpointId, options } = request;
    const owner = endpointOwner(endpointId);
    const ifname = options.ifname ?? DEFAULT_IFNAME;
    const undo = new UndoStack();
    try {
      await assertHostAddresses(ctx, options.ports ?? []);
      const live = await this.#ensureLive(request.network, ctx);
      // Ports and address in one transaction, ports first: a conflict then
      // leaves even IPAM's round-robin pointer untouched.
      const proxy = this.#options.userlandProxy;
      const { leases, result: address } = await ctx.ports.allocateWith(owner, portRequests(options.ports ?? [], proxy), (tx) =>
        ctx.ipam.within(tx).allocateAddress(live.subnet.subnet, owner, options.ip ? { address: options.ip } : {}),
      );
      if (leases.length > 0) undo.push('ports', owner, () => ctx.ports.releaseOwner(owner));
      undo.push('lease', address, () => ctx.ipam.releaseAddress(live.subnet.subnet, address));
      const firewallPorts = (options.ports ?? []).map((port, i): FirewallPort => ({
        protocol: port.protocol ?? 'tcp',
        ...(hostIpOf(port) === undefined ? {} : { hostIp: hostIpOf(port) as string }),
        hostPort: leases[i]?.hostPort as number,
        containerPort: port.containerPort,
        count: port.count ?? 1,
        ...(proxy ? { proxied: true } : {}),
      }));

      const owned = options.netns === undefined;
      if (options.netns) await ctx.sandboxes.assertNotHost(options.netns, ctx.hostNetns);
      // An owned sandbox is born in the same host-side batch as the pair:
      // `netns add` there (entered with nsenter, not `ip -n`) saves a process.
      const netns = options.netns ?? (await ctx.sandboxes.claim(ctx.sandboxName(containerId)));
      const hostVeth = ctx.interfaceName(endpointId, 'v');
      const mtu = live.settings.mtu;
      // Undo first, since a step may take effect and still report failure;
      // the undos are idempotent. Deleting an owned sandbox removes the pair.
      if (owned) undo.push('netns', ctx.sandboxName(containerId), () => ctx.sandboxes.delete(netns));
      else undo.push('link', hostVeth, () => deleteLinkIfPresent(ctx, ctx.hostNetns, hostVeth));
      // The MAC follows the address (Docker's scheme before v28), so the
      // neighbours' caches are right for a reused address without a
      // gratuitous ARP; it is set at birth, in the same line.
      const mac = options.mac ?? macFromIpv4(address);
      // No `ip neigh` line for the host's cache here: `ip neigh` reads every
      // link of the namespace first, so its cost grows with the endpoints
      // (5.7 ms with 3 links, 11.7 ms with 800, measured).
      const pair = new IpBatch()
        .vethAdd(hostVeth, live.settings.bridge, mtu, ifname, netnsPath(netns), mac)
        .hairpinOn(hostVeth)
        .linkAlias(hostVeth, ctx.ownerAlias(owner));
      const host = (owned ? new IpBatch().netnsAdd(ctx.sandboxName(containerId)) : new IpBatch()).append(pair);
      const inside = new IpBatch().linkUp('lo').addressAdd(`${address}/${live.prefixLength}`, ifname, { broadcast: true }).linkUp(ifname);
      // Another endpoint of the container may provide the default route: the manager says.
      if (!request.network.internal && request.defaultRoute) inside.defaultRouteAdd(live.subnet.gateway, ifname);

      const data: BridgeEndpointData = {
        bridge: live.settings.bridge,
        hostVeth,
        ifname,
        address,
        firewallPorts,
        icc: live.settings.icc,
        mac,
      };
      const endpoint = firewallEndpoint(endpointId, request.network.id, data, live.settings.icc);
      if (endpoint) undo.push('firewall', endpointId, () => this.#firewall.teardownEndpoint(scope(ctx), endpoint));
      // The firewall needs only the address and the veth's name, not the
      // veth: its transaction runs while the pair is made.
      await allSettled([
        this.#plumb(ctx, { host, pair, inside, netns, owned, hostVeth, arpNotify: options.mac === undefined ? undefined : ifname }),
        endpoint
          ? this.#firewall.setupEndpoint(scope(ctx), endpoint).then(() => flushUdpConntrack(ctx, udpHostPorts(firewallPorts), containerId))
          : undefined,
      ]);

      return {
        netns,
        ownsNetns: owned,
        interfaces: [
          { name: ifname, side: 'sandbox', mtu, mac },
          { name: hostVeth, side: 'host', mtu },
        ],
        addresses: [`${address}/${live.prefixLength}`],
        gateways: request.network.internal ? [] : [live.subnet.gateway],
        ports: firewallPorts.map((p): PortMapping => ({
          ...(p.hostIp === undefined ? {} : { hostIp: p.hostIp }),
          hostPort: p.hostPort,
          containerPort: p.containerPort,
          count: p.count,
          protocol: p.protocol,
        })),
        driverData: { ...data },
      };
    } catch (error) {
      // The bridge may have been removed behind our back: look again next time.
      this.#live.delete(request.network.id);
      throw await undo.rollback(error);
    }
  }

  /**
   * The kernel side of an attach: the host-side batch (the sandbox, when
   * owned, and the pair), then the batch inside the sandbox.
   */
  async #plumb(ctx: DriverContext, work: PlumbWork): Promise<void> {
    try {
      await runIpBatch(ctx.runner, ctx.hostNetns, work.host, ctx.signal);
    } catch (error) {
      // The name is derived from the container id, which has no other
      // endpoint: an existing link of that name is the pair of this
      // container's previous sandbox, which the kernel is still removing
      // (it lingers ~0.1 s after the namespace is deleted). Remove it, retry once.
      if (!isToolFailure(error, 'exists')) throw error;
      if (!(await ctx.sandboxes.exists(work.netns))) throw error;
      await deleteLinkIfPresent(ctx, ctx.hostNetns, work.hostVeth, { signal: ctx.signal });
      await runIpBatch(ctx.runner, ctx.hostNetns, work.pair, ctx.signal);
    }
    if (work.owned) ctx.events.emit('sandbox:created', { netns: work.netns });
    // A MAC of the caller's choosing does not follow the address:
    // neighbours may hold another MAC for it. arp_notify, set before eth0
    // comes up, makes the kernel announce it with a gratuitous ARP.
    if (work.arpNotify !== undefined) await writeSysctls(ctx, work.netns, { [`net/ipv4/conf/${work.arpNotify}/arp_notify`]: '1' });
    // A sandbox made here gets Docker's container sysctls, beside the batch
    // (another process, but no longer wait: the two run at once).
    await allSettled([
      runIpBatch(ctx.runner, work.netns, work.inside, ctx.signal),
      work.owned ? ctx.sandboxes.prepare?.(work.netns, ctx.signal) : undefined,
    ]);
  }

  async detach(endpoint: Endpoint, ctx: DriverContext): Promise<void> {
    const data = endpoint.driverData as Partial<BridgeEndpointData>;
    const steps = new TeardownSteps();
    const firewallPorts = data.firewallPorts ?? [];
    if (data.firewallPorts === undefined) {
      // An attach that crashed before its record held the ports: let the
      // firewall remove whatever carries this endpoint's mark.
      await steps.step('firewall', endpoint.id, () => this.#firewall.teardownOwner(scope(ctx), { kind: 'endpoint', id: endpoint.id }));
    }
    // A record without `icc` predates port isolation: its port may have been
    // isolated since by repair(), and releasing a port that is not there is harmless.
    const fw = firewallEndpoint(endpoint.id, endpoint.networkId, withMac(data, endpoint), data.icc ?? false);
    const firewall = async () => {
      if (!fw) return;
      await steps.step('firewall', endpoint.id, () => this.#firewall.teardownEndpoint(scope(ctx), fw));
      await steps.step('conntrack', endpoint.id, () => flushUdpConntrack(ctx, udpHostPorts(firewallPorts), endpoint.containerId));
    };
    const kernel = async () => {
      // Only an endpoint that owns the sandbox deletes it: other endpoints of
      // the container may live in it (the manager passes the ownership on).
      if (endpoint.ownsNetns) {
        // Deleting the namespace returns at once and the kernel removes the
        // pair; a synchronous veth delete would cost ~30 ms.
        await steps.step('netns', ctx.sandboxName(endpoint.containerId), () => ctx.sandboxes.delete(endpoint.netns));
      } else {
        const hostVeth = data.hostVeth ?? ctx.interfaceName(endpoint.id, 'v');
        await steps.step('link', hostVeth, () => deleteLinkIfPresent(ctx, ctx.hostNetns, hostVeth));
      }
    };
    // Independent, and each step records its own failure: both run at once
    // (removing a map element is the slowest step, ~19 ms in the kernel).
    await Promise.all([firewall(), kernel()]);
    steps.finish(`detaching ${endpoint.containerId} from ${endpoint.network}`);
  }

  /**
   * What `repair()` cannot put right: a missing sandbox, container interface,
   * address, host veth or bridge, or a host route that takes part of the
   * subnet away from the bridge. A veth that is down or off its bridge is
   * not a problem here: `repair()` puts it back.
   */
  async check(endpoint: Endpoint, ctx: DriverContext): Promise<CheckReport> {
    const data = endpoint.driverData as Partial<BridgeEndpointData>;
    const problems: string[] = [];
    if (!(await ctx.sandboxes.exists(endpoint.netns))) return { ok: false, problems: ['the sandbox namespace is gone'] };
    const inside = data.ifname ? await readLink(ctx, endpoint.netns, data.ifname) : undefined;
    if (!inside) problems.push(`interface ${data.ifname ?? DEFAULT_IFNAME} is missing in the sandbox`);
    else if (!inside.ipv4.some((a) => endpoint.addresses.includes(a))) problems.push(`${inside.name} lost its address`);
    const veth = data.hostVeth ? await readLink(ctx, ctx.hostNetns, data.hostVeth) : undefined;
    if (!veth) problems.push(`host interface ${data.hostVeth ?? '(unknown)'} is missing`);
    const bridge = data.bridge ? await readLink(ctx, ctx.hostNetns, data.bridge) : undefined;
    if (!bridge) problems.push(`bridge ${data.bridge ?? '(unknown)'} is missing`);
    if (data.bridge) problems.push(...(await foreignRoutes(ctx, data.bridge, endpoint.addresses)));
    return { ok: problems.length === 0, problems };
  }

  /**
   * Puts back the bridge, its sysctls, the firewall's base and the
   * endpoint's published ports, and the host veth's place on its bridge.
   * Resolves to `false` when all of it was whole before it began: the
   * bridge up with its gateway address, the firewall's base, network rules
   * and published ports (its `gaps()`), the veth up on its bridge. An
   * `icc: false` network's port isolation, which `gaps()` does not cover,
   * or a backend without `gaps()`, always counts as a repair.
   */
  async repair(endpoint: Endpoint, network: NetworkRecord, ctx: DriverContext): Promise<boolean> {
    const data = endpoint.driverData as Partial<BridgeEndpointData>;
    const settings = readSettings(network);
    // A record without `icc` predates port isolation: the network says.
    const fw = firewallEndpoint(endpoint.id, endpoint.networkId, withMac(data, endpoint), data.icc ?? settings.icc);
    let putBack = !(await this.#wasWhole(network, settings, fw, ctx));
    // Look again: someone may have flushed the firewall since this process looked.
    this.#live.delete(network.id);
    const live = await this.#ensureLive(network, ctx);
    // The veth set down, taken off its bridge or moved to another one: put
    // it back (and hairpin on, which a bridge port loses when it leaves).
    if (data.hostVeth) {
      const veth = await readLink(ctx, ctx.hostNetns, data.hostVeth);
      if (veth && (!veth.up || veth.master !== live.settings.bridge)) {
        putBack = true;
        await runIpBatch(
          ctx.runner,
          ctx.hostNetns,
          new IpBatch().linkSetMasterUp(data.hostVeth, live.settings.bridge).hairpinOn(data.hostVeth),
          ctx.signal,
        );
      }
    }
    if (fw) await this.#firewall.setupEndpoint(scope(ctx), fw);
    return putBack;
  }

  /** What {@link repair} would find nothing to do about, before it starts. Reads only. */
  async #wasWhole(
    network: NetworkRecord,
    settings: BridgeSettings,
    fw: FirewallEndpoint | undefined,
    ctx: DriverContext,
  ): Promise<boolean> {
    if (!this.#firewall.gaps || !settings.icc || fw?.icc === false) return false;
    let subnet: SubnetConfig | undefined = network.subnets[0];
    if (settings.existing) {
      subnet = await existingBridgeSubnet(ctx, settings.bridge).catch(() => undefined);
    } else if (subnet?.gateway) {
      const bridge = await readLink(ctx, ctx.hostNetns, settings.bridge);
      if (!bridge?.up || !bridge.ipv4.includes(`${subnet.gateway}/${parseNetwork(subnet.subnet).prefixLength}`)) return false;
    }
    if (!subnet) return false;
    const gaps = await this.#firewall.gaps(scope(ctx), firewallNetwork(network, settings, subnet), fw);
    return gaps.length === 0;
  }

  /**
   * Removes what this instance's records no longer own: veths and bridges
   * that carry its ownership mark (their alias) for an owner without a
   * record — a link without the mark is never touched, whatever its name,
   * since it may be another instance's — and the firewall's rules and
   * elements of such owners. When no bridge network is recorded at all, the
   * firewall's shared base goes too, if nothing else uses it.
   */
  async gc(records: GcScope, ctx: DriverContext): Promise<string[]> {
    const removed: string[] = [];
    for (const link of await listLinks(ctx)) {
      if (link.kind !== 'veth' && link.kind !== 'bridge') continue;
      const owner = ctx.ownerOfAlias(link.alias);
      if (owner === undefined || records.liveOwners.has(owner)) continue;
      await deleteLinkIfPresent(ctx, ctx.hostNetns, link.name);
      removed.push(`link ${link.name}`);
    }
    for (const owner of await this.#firewall.owners(scope(ctx))) {
      if (records.liveOwners.has(ownerMark(owner))) continue;
      await this.#firewall.teardownOwner(scope(ctx), owner);
      removed.push(`${this.#firewall.name} rules of ${ownerMark(owner)}`);
    }
    if (!records.networks.some((network) => network.driver === this.name)) {
      const state = await this.#firewall.check(scope(ctx));
      if (state.present && (await this.#firewall.removeBase(scope(ctx)))) removed.push(`${this.#firewall.name} base`);
    }
    return removed;
  }

  /** The network's bridge and firewall base, set up once per process (and again after a failure). */
  #ensureLive(network: NetworkRecord, ctx: DriverContext): Promise<LiveNetwork> {
    let live = this.#live.get(network.id);
    if (!live) {
      live = this.#bringUp(network, ctx, false);
      this.#live.set(network.id, live);
      live.catch(() => this.#live.delete(network.id));
    }
    return live;
  }

  /**
   * Makes a network's kernel side exist: its subnet reserved in IPAM (for the
   * predefined network), the bridge with its gateway address, the sysctls,
   * and the firewall's network state. `isNew` refuses to adopt an interface
   * that already exists; `undo` receives the undo of what was created.
   */
  async #bringUp(network: NetworkRecord, ctx: DriverContext, isNew: boolean, undo?: UndoStack): Promise<LiveNetwork> {
    const settings = readSettings(network);
    const subnet = settings.existing ? await existingBridgeSubnet(ctx, settings.bridge) : network.subnets[0];
    if (!subnet?.gateway) throw invalidConfig('subnets', `network ${network.name} has no subnet with a gateway`);
    // A user network's subnet came from IPAM in createNetwork; the predefined
    // network's (from `bip`) and an existing bridge's must be reserved too,
    // or IPAM could not lease addresses in them. Routes inside the subnet are
    // adopted only when they are this bridge's own (it exists and carries the
    // gateway); otherwise another interface's route is a real conflict.
    const prefix = parseNetwork(subnet.subnet).prefixLength;
    const own = await readLink(ctx, ctx.hostNetns, settings.bridge);
    await ensureSubnetReserved(ctx, network, subnet, own?.ipv4.includes(`${subnet.gateway}/${prefix}`) === true);

    if (!settings.existing) {
      const outcome = await ensureBridge(ctx, settings.bridge, subnet, settings.mtu, isNew, networkOwner(network.id));
      if (outcome === 'created') {
        undo?.push('link', settings.bridge, () => deleteLinkIfPresent(ctx, ctx.hostNetns, settings.bridge));
      }
    }
    const sysctls: Record<string, string> = {};
    if (this.#options.ipForward) sysctls['net/ipv4/ip_forward'] = '1';
    // Lets DNAT send packets from 127.0.0.1 out of the bridge (localhost
    // publishing); the firewall's guard drops 127/8 arriving on it.
    if (!settings.existing && this.#firewall.capabilities.publishPorts) {
      sysctls[`net/ipv4/conf/${settings.bridge}/route_localnet`] = '1';
    }
    await writeSysctls(ctx, ctx.hostNetns, sysctls);
    if (!this.#options.ipForward && (await readSysctl(ctx, ctx.hostNetns, 'net/ipv4/ip_forward')) !== '1') {
      ctx.events.emit('warning', {
        code: 'IP_FORWARD_OFF',
        message: 'net.ipv4.ip_forward is 0 in the host namespace and ipForward is false: containers cannot reach beyond the host',
        network: network.name,
      });
    }
    const fw = firewallNetwork(network, settings, subnet);
    undo?.push('firewall', network.name, () => this.#firewall.teardownNetwork(scope(ctx), fw));
    await this.#firewall.setupNetwork(scope(ctx), fw);
    return {
      settings,
      subnet: { ...subnet, gateway: subnet.gateway },
      prefixLength: parseNetwork(subnet.subnet).prefixLength,
      firewall: fw,
    };
  }
}

/**
 * Refuses a published port whose host address is not an address of the host
 * namespace (Docker's proxy would fail to bind it): nothing could reach it.
 */
async function assertHostAddresses(ctx: DriverContext, ports: readonly PortMapping[]): Promise<void> {
  const wanted = ports.map((port, index) => ({ index, ip: hostIpOf(port) })).filter((p) => p.ip !== undefined);
  if (wanted.length === 0) return;
  const local = new Set((await hostAddresses(ctx)).map((cidr) => cidr.split('/')[0]));
  for (const { index, ip } of wanted) {
    if (!local.has(ip)) {
      throw invalidConfig(`ports[${index}].hostIp`, `${ip} is not an address of the host namespace; publish on one of its addresses`);
    }
  }
}

/**
 * Host routes that take part of an endpoint's subnet away from its bridge:
 * a route to the subnet or inside it through another interface, through
 * which replies to some containers would leave.
 */
async function foreignRoutes(ctx: DriverContext, bridge: string, addresses: readonly string[]): Promise<string[]> {
  const subnets = addresses.map((a) => parseCidr(a, 'address')).filter((c) => c.family === 4);
  if (subnets.length === 0) return [];
  const problems: string[] = [];
  for (const route of await readRoutes(ctx, ctx.hostNetns)) {
    if (route.dev === bridge || route.dst === 'default') continue;
    const dst = parseCidr(route.dst.includes('/') ? route.dst : `${route.dst}/32`, 'route');
    for (const subnet of subnets) {
      if (dst.family === 4 && dst.prefixLength >= subnet.prefixLength && cidrContains(subnet, dst.address)) {
        problems.push(
          `host route ${route.dst} dev ${route.dev ?? '?'} takes part of subnet ${formatCidr(subnet)} away from bridge ${bridge}`,
        );
      }
    }
  }
  return problems;
}

function scope(ctx: DriverContext): FirewallScope {
  return { runner: ctx.runner, netns: ctx.hostNetns, ...(ctx.signal ? { signal: ctx.signal } : {}) };
}

function firewallNetwork(network: NetworkRecord, settings: BridgeSettings, subnet: { subnet: string; gateway?: string }): FirewallNetwork {
  // The server's address is the gateway of the subnet in use: a network whose
  // creation crashed has none in its record, but its teardown must find the
  // elements its setup may have added.
  const dnsAddress = network.dns ? (subnet.gateway ?? embeddedDnsAddress(network)) : undefined;
  return {
    networkId: network.id,
    bridge: settings.bridge,
    subnets: [subnet.subnet],
    icc: settings.icc,
    ipMasq: settings.ipMasq,
    internal: network.internal,
    ...(dnsAddress === undefined ? {} : { dnsAddress }),
  };
}

/** The record's data with the MAC filled in from the sandbox interface when the record predates `mac` in it. */
function withMac(data: Partial<BridgeEndpointData>, endpoint: Endpoint): Partial<BridgeEndpointData> {
  if (data.mac !== undefined) return data;
  const mac = endpoint.interfaces.find((i) => i.side === 'sandbox')?.mac;
  return mac === undefined ? data : { ...data, mac };
}

/**
 * What the firewall keeps for an endpoint — its published ports and, when
 * `icc` is false, its isolated host veth with its MAC and address — or
 * `undefined` when it keeps nothing (or the record is too incomplete to say).
 */
function firewallEndpoint(
  endpointId: string,
  networkId: string,
  data: Partial<BridgeEndpointData>,
  icc: boolean,
): FirewallEndpoint | undefined {
  const ports = data.firewallPorts ?? [];
  const isolated = !icc && data.hostVeth !== undefined;
  if ((ports.length === 0 && !isolated) || !data.bridge || !data.address) return undefined;
  return {
    endpointId,
    networkId,
    bridge: data.bridge,
    address: data.address,
    ports,
    ...(isolated ? { hostInterface: data.hostVeth as string, icc: false } : {}),
    ...(isolated && data.mac !== undefined ? { mac: data.mac } : {}),
  };
}

function hostIpOf(port: PortMapping): string | undefined {
  // 0.0.0.0 is Docker's spelling of "every address".
  return port.hostIp === undefined || port.hostIp === '0.0.0.0' ? undefined : parseAddress(port.hostIp).text;
}

function portRequests(ports: readonly PortMapping[], proxy: boolean): PortRequest[] {
  return ports.map((port) => ({
    protocol: port.protocol ?? 'tcp',
    ...(hostIpOf(port) === undefined ? {} : { hostIp: hostIpOf(port) as string }),
    hostPort: port.hostPort ?? 0,
    count: port.count ?? 1,
    ...(proxy ? { proxy: true } : {}),
  }));
}

function udpHostPorts(ports: readonly FirewallPort[]): number[] {
  return ports.filter((p) => p.protocol === 'udp').flatMap((p) => Array.from({ length: p.count }, (_, i) => p.hostPort + i));
}

/**
 * Waits for every step, then throws the first failure, the others' messages
 * in its context (`alsoFailed`): a rollback must never start while a step is
 * still running.
 */
async function allSettled(steps: readonly (Promise<unknown> | undefined)[]): Promise<void> {
  const outcomes = await Promise.allSettled(steps);
  const [first, ...others] = outcomes
    .filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected')
    .map((outcome) => outcome.reason as unknown);
  if (first === undefined) return;
  if (others.length > 0 && isNetModeError(first)) first.withContext({ alsoFailed: others.map(errorMessage) });
  throw first;
}
