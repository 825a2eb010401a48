import {
  cidrContains,
  deleteLinkIfPresent,
  endpointOwner,
  inject,
  injectable,
  invalidConfig,
  listLinks,
  netnsPath,
  networkOwner,
  ownsSandbox,
  parseAddress,
  parseNetwork,
  parseOwnerMark,
  readLink,
  readRoutes,
  readSysctl,
  refuseOptions,
  runIpBatch,
  TeardownSteps,
  UndoStack,
  writeSysctls,
  type AttachRequest,
  type AttachResult,
  type CheckReport,
  type DriverContext,
  type Endpoint,
  type GcScope,
  type NetnsRef,
  type NetworkDriver,
  type NetworkRecord,
  type NetworkSetup,
  type NetworkSpec,
} from '@netmode/core';
import { hostSide, sandboxSide, type PtpPair } from './kernel.js';
import {
  PTP_DRIVER_OPTIONS,
  readSettings,
  readSubnet,
  settleNetworkOptions,
  validateNetworkSpec,
  type ResolvedPtpOptions,
} from './options.js';

const DEFAULT_IFNAME = 'eth0';
/** The tag letter of host-side veth names; the bridge driver uses `v` and `b`. */
const HOST_VETH_TAG = 'p';
const IP_FORWARD = 'net/ipv4/ip_forward';

/** What the driver keeps in an endpoint record for detach and check. */
interface PtpEndpointData {
  readonly hostVeth: string;
  readonly ifname: string;
  /** The container's address, /32. */
  readonly address: string;
  readonly gateway: string;
  readonly mtu: number;
}

/**
 * A routed point-to-point network, like CNI's `ptp` plugin: each endpoint is
 * a veth pair with no bridge. The container holds its address as a /32 and
 * reaches everything through the gateway, which every host end of the
 * network carries as a /32; the host reaches each container through a host
 * route over its veth. Containers of one network meet only in the host's
 * routing table: no layer-2 segment is shared, no ARP crosses between them.
 */
@injectable()
export class PtpDriver implements NetworkDriver {
  readonly name = 'ptp';
  readonly #options: ResolvedPtpOptions;
  /** Set once per instance: forwarding is shared host state, turned on and never off, as Docker and CNI do. */
  #forwarding: Promise<void> | undefined;

  constructor(@inject(PTP_DRIVER_OPTIONS) options: ResolvedPtpOptions) {
    this.#options = options;
  }

  validateNetwork(spec: NetworkSpec): void {
    validateNetworkSpec(spec, this.#options);
  }

  async createNetwork(network: NetworkRecord, ctx: DriverContext): Promise<NetworkSetup> {
    const settings = settleNetworkOptions(network, this.#options);
    // No kernel object belongs to the network as a whole: the subnet is the
    // only step, and the last, so a failure leaves nothing to undo.
    const subnet = await ctx.ipam.allocateSubnet(networkOwner(network.id), network.subnets[0] ?? { family: 4 });
    return { subnets: [subnet], options: { ...settings } };
  }

  validate(request: AttachRequest): void {
    const { options, network } = request;
    refuseOptions(
      options,
      ['ports'],
      'cannot be published on a ptp network: the driver makes no NAT rule; reach the container at its own address',
    );
    if (options.ip !== undefined) {
      const ip = parseAddress(options.ip, 'ip');
      if (ip.family !== 4) throw invalidConfig('ip', 'the ptp driver supports IPv4 addresses only in this version');
      const subnet = network.subnets[0];
      if (subnet && !cidrContains(parseNetwork(subnet.subnet), ip)) {
        throw invalidConfig('ip', `${options.ip} is outside the network's subnet ${subnet.subnet}`);
      }
    }
  }

  async attach(request: AttachRequest, ctx: DriverContext): Promise<AttachResult> {
    const { containerId, endpointId, options, network } = request;
    const { mtu } = readSettings(network);
    const subnet = readSubnet(network);
    const ifname = options.ifname ?? DEFAULT_IFNAME;
    const hostVeth = ctx.interfaceName(endpointId, HOST_VETH_TAG);
    const undo = new UndoStack();
    try {
      await this.#ensureForwarding(ctx);
      const address = await ctx.ipam.allocateAddress(subnet.subnet, endpointOwner(endpointId), options.ip ? { address: options.ip } : {});
      undo.push('lease', address, () => ctx.ipam.releaseAddress(subnet.subnet, address));

      const owned = options.netns === undefined;
      let netns: NetnsRef;
      if (options.netns) {
        netns = options.netns;
        await ctx.sandboxes.assertNotHost(netns, ctx.hostNetns);
        if (await readLink(ctx, netns, ifname)) {
          throw invalidConfig('ifname', `${ifname} already exists in the namespace ${netnsPath(netns)}; choose another ifname`);
        }
      } else {
        const name = ctx.sandboxName(containerId);
        netns = await ctx.sandboxes.create(name, { signal: ctx.signal, loopbackUp: false });
        const sandbox = netns;
        undo.push('netns', name, () => ctx.sandboxes.delete(sandbox));
      }
      // Pushed before the step, which may take effect and still report a
      // failure. Deleting the host end deletes its peer, wherever it is, and
      // the host route and gateway address on it — at once, unlike a deleted
      // namespace's pair, which lingers ~0.1 s with its route to an address
      // IPAM may hand out again.
      undo.push('link', hostVeth, () => deleteLinkIfPresent(ctx, ctx.hostNetns, hostVeth, { kind: 'veth' }));

      const pair: PtpPair = {
        hostVeth,
        alias: ctx.ownerAlias(endpointOwner(endpointId)),
        ifname,
        netnsPath: netnsPath(netns),
        mtu,
        address,
        gateway: subnet.gateway,
        defaultRoute: request.defaultRoute,
        ...(options.mac === undefined ? {} : { mac: options.mac }),
      };
      await runIpBatch(ctx.runner, ctx.hostNetns, hostSide(pair), ctx.signal);
      await runIpBatch(ctx.runner, netns, sandboxSide(pair), ctx.signal);

      const data: PtpEndpointData = { hostVeth, ifname, address: `${address}/32`, gateway: subnet.gateway, mtu };
      return {
        netns,
        ownsNetns: owned,
        interfaces: [
          { name: ifname, side: 'sandbox', mtu, ...(options.mac === undefined ? {} : { mac: options.mac }) },
          { name: hostVeth, side: 'host', mtu },
        ],
        addresses: [data.address],
        gateways: [subnet.gateway],
        ports: [],
        driverData: { ...data },
      };
    } catch (error) {
      throw await undo.rollback(error);
    }
  }

  async detach(endpoint: Endpoint, ctx: DriverContext): Promise<void> {
    const data = endpoint.driverData as Partial<PtpEndpointData>;
    const hostVeth = data.hostVeth ?? ctx.interfaceName(endpoint.id, HOST_VETH_TAG);
    const steps = new TeardownSteps();
    // The host end first, synchronously (~30 ms): its host route must be gone
    // before the manager releases the address, or the next endpoint given
    // that address could not add its own. Its peer goes with it.
    await steps.step('link', hostVeth, () => deleteLinkIfPresent(ctx, ctx.hostNetns, hostVeth, { kind: 'veth' }));
    if (ownsSandbox(endpoint, ctx)) {
      await steps.step('netns', ctx.sandboxName(endpoint.containerId), () => ctx.sandboxes.delete(endpoint.netns));
    }
    steps.finish(`detaching ${endpoint.containerId}`);
  }

  async check(endpoint: Endpoint, ctx: DriverContext): Promise<CheckReport> {
    const data = endpoint.driverData as Partial<PtpEndpointData>;
    if (!(await ctx.sandboxes.exists(endpoint.netns))) return { ok: false, problems: ['the sandbox namespace is gone'] };
    const problems: string[] = [];
    const ifname = data.ifname ?? DEFAULT_IFNAME;
    const inside = await readLink(ctx, endpoint.netns, ifname);
    if (!inside) problems.push(`interface ${ifname} is missing in the sandbox`);
    else {
      if (inside.kind !== 'veth') problems.push(`${ifname} is a ${inside.kind ?? 'plain'} link, not a veth`);
      if (!inside.up) problems.push(`${ifname} is down`);
      if (data.address && !inside.ipv4.includes(data.address)) problems.push(`${ifname} lost its address ${data.address}`);
    }
    const hostVeth = data.hostVeth ?? ctx.interfaceName(endpoint.id, HOST_VETH_TAG);
    const host = await readLink(ctx, ctx.hostNetns, hostVeth);
    if (!host) problems.push(`host interface ${hostVeth} is missing`);
    else {
      if (!host.up) problems.push(`host interface ${hostVeth} is down`);
      if (data.gateway && !host.ipv4.includes(`${data.gateway}/32`))
        problems.push(`host interface ${hostVeth} lost the gateway address ${data.gateway}/32`);
      const address = data.address?.replace(/\/32$/, '');
      const routed = (await readRoutes(ctx, ctx.hostNetns, { dev: hostVeth })).some((r) => r.dst === address || r.dst === `${address}/32`);
      if (address && !routed) problems.push(`the host route to ${address} via ${hostVeth} is missing`);
    }
    return { ok: problems.length === 0, problems };
  }

  async repair(_endpoint: Endpoint, _network: NetworkRecord, ctx: DriverContext): Promise<void> {
    // Forwarding is the one thing shared with others that someone may turn off.
    if (this.#options.ipForward && (await readSysctl(ctx, ctx.hostNetns, IP_FORWARD)) !== '1') {
      await writeSysctls(ctx, ctx.hostNetns, { [IP_FORWARD]: '1' });
    }
  }

  /**
   * Removes host ends of pairs that carry this instance's mark for an
   * endpoint that has no record, and whose name is the one this driver gives
   * that endpoint: the bridge driver's veths, live or not, are left to it.
   */
  async gc(scope: GcScope, ctx: DriverContext): Promise<string[]> {
    const removed: string[] = [];
    for (const link of await listLinks(ctx)) {
      if (link.kind !== 'veth') continue;
      const mark = ctx.ownerOfAlias(link.alias);
      const owner = parseOwnerMark(mark);
      if (owner?.kind !== 'endpoint' || scope.liveOwners.has(mark as string)) continue;
      if (link.name !== ctx.interfaceName(owner.id, HOST_VETH_TAG)) continue;
      if (await deleteLinkIfPresent(ctx, ctx.hostNetns, link.name, { kind: 'veth' })) removed.push(`link ${link.name}`);
    }
    return removed;
  }

  /** Turns forwarding on in the host namespace, once per instance (again after a failure). */
  #ensureForwarding(ctx: DriverContext): Promise<void> {
    if (!this.#options.ipForward) return Promise.resolve();
    if (!this.#forwarding) {
      this.#forwarding = writeSysctls(ctx, ctx.hostNetns, { [IP_FORWARD]: '1' });
      this.#forwarding.catch(() => (this.#forwarding = undefined));
    }
    return this.#forwarding;
  }
}
