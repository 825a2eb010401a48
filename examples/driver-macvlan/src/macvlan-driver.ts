import {
  cidrContains,
  deleteLinkIfPresent,
  endpointOwner,
  inject,
  injectable,
  invalidConfig,
  IpBatch,
  macFromIpv4,
  netnsPath,
  networkOwner,
  ownsSandbox,
  parseAddress,
  parseNetwork,
  readLink,
  refuseOptions,
  runIpBatch,
  TeardownSteps,
  UndoStack,
  type AttachRequest,
  type AttachResult,
  type CheckReport,
  type DriverContext,
  type Endpoint,
  type NetnsRef,
  type NetworkDriver,
  type NetworkRecord,
  type NetworkSetup,
  type NetworkSpec,
} from '@netmode/core';
import { macvlanAdd, runUntilMacFree } from './kernel.js';
import {
  MACVLAN_DRIVER_OPTIONS,
  readSettings,
  readSubnet,
  settleNetworkOptions,
  validateNetworkSpec,
  type MacvlanMode,
  type ResolvedMacvlanOptions,
} from './options.js';

const DEFAULT_IFNAME = 'eth0';

/** What the driver keeps in an endpoint record for detach and check. */
interface MacvlanEndpointData {
  readonly parent: string;
  readonly mode: MacvlanMode;
  readonly ifname: string;
  /** The address with its prefix length. */
  readonly address: string;
  /** The MAC set at creation; absent in passthru mode (the parent's). */
  readonly mac?: string;
}

/**
 * Docker's macvlan driver: each endpoint is a macvlan link on a parent
 * interface of the host, born inside the sandbox, with its own MAC and an
 * address of the outside network's subnet. There is no bridge, no NAT and
 * no firewall rule: the container is a peer of the host on the parent's
 * network, and (a property of macvlan) cannot talk to the host through
 * that parent.
 */
@injectable()
export class MacvlanDriver implements NetworkDriver {
  readonly name = 'macvlan';
  readonly #options: ResolvedMacvlanOptions;

  constructor(@inject(MACVLAN_DRIVER_OPTIONS) options: ResolvedMacvlanOptions) {
    this.#options = options;
  }

  validateNetwork(spec: NetworkSpec): void {
    validateNetworkSpec(spec, this.#options);
  }

  async createNetwork(network: NetworkRecord, ctx: DriverContext): Promise<NetworkSetup> {
    const settings = settleNetworkOptions(network, this.#options);
    const requested = readSubnet(network);
    const parent = await readLink(ctx, ctx.hostNetns, settings.parent);
    if (!parent) {
      throw invalidConfig('options.parent', `${settings.parent} does not exist in the host namespace`);
    }
    if (parent.linkType !== undefined && parent.linkType !== 'ether') {
      throw invalidConfig('options.parent', `${settings.parent} is a ${parent.linkType} link; macvlan needs an Ethernet parent`);
    }
    // The last step, so a failure leaves nothing to undo. The subnet is the
    // outside network's: the host's own route to it (the parent's connected
    // route) is expected, not an overlap.
    const subnet = await ctx.ipam.allocateSubnet(networkOwner(network.id), {
      subnet: requested.subnet,
      gateway: requested.gateway,
      ...(requested.ipRange === undefined ? {} : { ipRange: requested.ipRange }),
      adoptRoute: true,
    });
    return { subnets: [subnet], options: { ...settings } };
  }

  async removeNetwork(): Promise<void> {
    // createNetwork made nothing in the kernel; the manager releases the subnet.
  }

  validate(request: AttachRequest): void {
    const { options, network } = request;
    refuseOptions(
      options,
      ['ports'],
      "cannot be published on a macvlan network: there is no host-side NAT; the container has its own address on the parent's network",
    );
    const settings = readSettings(network);
    if (options.ip !== undefined) {
      const ip = parseAddress(options.ip, 'ip');
      const subnet = readSubnet(network);
      if (ip.family !== 4) throw invalidConfig('ip', 'the macvlan driver supports IPv4 addresses only in this version');
      if (!cidrContains(parseNetwork(subnet.subnet), ip)) {
        throw invalidConfig('ip', `${options.ip} is outside the network's subnet ${subnet.subnet}`);
      }
    }
    if (options.mac !== undefined && settings.mode === 'passthru') {
      // A passthru macvlan has the parent's MAC; changing it would change the host's interface.
      throw invalidConfig('mac', "cannot be set on a passthru macvlan network: the endpoint takes the parent's MAC");
    }
  }

  async attach(request: AttachRequest, ctx: DriverContext): Promise<AttachResult> {
    const { containerId, endpointId, options, network } = request;
    const { parent, mode } = readSettings(network);
    const subnet = readSubnet(network);
    const prefixLength = parseNetwork(subnet.subnet).prefixLength;
    const ifname = options.ifname ?? DEFAULT_IFNAME;
    const undo = new UndoStack();
    try {
      const address = await ctx.ipam.allocateAddress(subnet.subnet, endpointOwner(endpointId), options.ip ? { address: options.ip } : {});
      undo.push('lease', address, () => ctx.ipam.releaseAddress(subnet.subnet, address));

      const owned = options.netns === undefined;
      let netns: NetnsRef;
      if (options.netns) {
        netns = options.netns;
        await ctx.sandboxes.assertNotHost(netns, ctx.hostNetns);
        // Known to be free, so the undo below can only ever remove our own link.
        if (await readLink(ctx, netns, ifname)) {
          throw invalidConfig('ifname', `${ifname} already exists in the namespace ${netnsPath(netns)}; choose another ifname`);
        }
        // Pushed before the step, which may take effect and still report a
        // failure; the undo is idempotent.
        const sandbox = netns;
        undo.push('link', ifname, () => deleteLinkIfPresent(ctx, sandbox, ifname, { kind: 'macvlan' }));
      } else {
        const name = ctx.sandboxName(containerId);
        netns = await ctx.sandboxes.create(name, { signal: ctx.signal, loopbackUp: false });
        const sandbox = netns;
        // Deleting the namespace deletes the macvlan in it: no undo of its own.
        undo.push('netns', name, () => ctx.sandboxes.delete(sandbox));
      }

      const mac = mode === 'passthru' ? undefined : (options.mac ?? macFromIpv4(address));
      await runIpBatch(
        ctx.runner,
        ctx.hostNetns,
        macvlanAdd({ name: ifname, parent, mode, netnsPath: netnsPath(netns), ...(mac === undefined ? {} : { mac }) }),
        ctx.signal,
      );

      // `up` before the address, so that a MAC still held by a macvlan the
      // kernel is removing fails the batch before anything else changed.
      const inside = new IpBatch().linkUp('lo').linkUp(ifname).addressAdd(`${address}/${prefixLength}`, ifname);
      // Another endpoint of the container may provide the default route: the manager says.
      if (request.defaultRoute) inside.defaultRouteAdd(subnet.gateway, ifname);
      await runUntilMacFree(ctx, netns, inside, `link set dev ${ifname} up`);

      const data: MacvlanEndpointData = {
        parent,
        mode,
        ifname,
        address: `${address}/${prefixLength}`,
        ...(mac === undefined ? {} : { mac }),
      };
      return {
        netns,
        ownsNetns: owned,
        interfaces: [{ name: ifname, side: 'sandbox', ...(mac === undefined ? {} : { mac }) }],
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
    const data = endpoint.driverData as Partial<MacvlanEndpointData>;
    const steps = new TeardownSteps();
    if (ownsSandbox(endpoint, ctx)) {
      // The macvlan goes with its namespace, without a synchronous delete (~30 ms).
      await steps.step('netns', ctx.sandboxName(endpoint.containerId), () => ctx.sandboxes.delete(endpoint.netns));
    } else {
      // The runtime's namespace: remove our link only, never another kind of link of that name.
      // A crashed attach has no driver data yet: its pending record names the interface the manager settled.
      const ifname = data.ifname ?? endpoint.interfaces.find((i) => i.side === 'sandbox')?.name ?? DEFAULT_IFNAME;
      await steps.step('link', ifname, () => deleteLinkIfPresent(ctx, endpoint.netns, ifname, { kind: 'macvlan' }));
    }
    steps.finish(`detaching ${endpoint.containerId}`);
  }

  async check(endpoint: Endpoint, ctx: DriverContext): Promise<CheckReport> {
    const data = endpoint.driverData as Partial<MacvlanEndpointData>;
    if (!(await ctx.sandboxes.exists(endpoint.netns))) return { ok: false, problems: ['the sandbox namespace is gone'] };
    const problems: string[] = [];
    const ifname = data.ifname ?? DEFAULT_IFNAME;
    const link = await readLink(ctx, endpoint.netns, ifname);
    if (!link) problems.push(`interface ${ifname} is missing in the sandbox`);
    else {
      if (link.kind !== 'macvlan') problems.push(`${ifname} is a ${link.kind ?? 'plain'} link, not a macvlan`);
      if (!link.up) problems.push(`${ifname} is down`);
      if (data.address && !link.ipv4.includes(data.address)) problems.push(`${ifname} lost its address ${data.address}`);
    }
    if (data.parent && !(await readLink(ctx, ctx.hostNetns, data.parent))) {
      problems.push(`the parent interface ${data.parent} is missing in the host namespace`);
    }
    return { ok: problems.length === 0, problems };
  }
}
