import {
  ErrorCode,
  IpBatch,
  assertInterfaceName,
  formatCidr,
  hashedMac,
  invalidConfig,
  isNetModeError,
  parseCidr,
  runIpBatch,
  type DriverContext,
  type NetnsRef,
  type SubnetConfig,
} from '@netmode/core';

/** What `ip -json address show` says about one link. */
export interface LinkFacts {
  /** The link's name. */
  readonly name: string;
  /** Its kind (`bridge`, `veth`, …), from `-details`. */
  readonly kind: string | undefined;
  /** Whether it is administratively up. */
  readonly up: boolean;
  /** Its MTU. */
  readonly mtu: number;
  /** Its IPv4 addresses in CIDR form (`172.17.0.1/16`). */
  readonly ipv4: readonly string[];
  /** The bridge it is a port of, if any. */
  readonly master: string | undefined;
  /** Its alias: netmode's ownership mark on links it made. */
  readonly alias: string | undefined;
}

interface JsonLink {
  ifname: string;
  flags?: string[];
  mtu?: number;
  master?: string;
  ifalias?: string;
  linkinfo?: { info_kind?: string };
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

/** Reads one link in `netns`, or `undefined` when it does not exist. */
export async function readLink(ctx: DriverContext, netns: NetnsRef, name: string): Promise<LinkFacts | undefined> {
  assertInterfaceName(name);
  try {
    const { stdout } = await ctx.runner.run({
      command: 'ip',
      args: ['-json', '-details', 'address', 'show', 'dev', name],
      netns,
      signal: ctx.signal,
    });
    const link = (JSON.parse(stdout || '[]') as JsonLink[])[0];
    if (!link) return undefined;
    return {
      name: link.ifname,
      kind: link.linkinfo?.info_kind,
      up: link.flags?.includes('UP') ?? false,
      mtu: link.mtu ?? 0,
      ipv4: (link.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`),
      master: link.master,
      alias: link.ifalias,
    };
  } catch (error) {
    if (isNetModeError(error, ErrorCode.COMMAND_FAILED) && /does not exist/.test(String(error.context['stderr']))) {
      return undefined;
    }
    throw error;
  }
}

/** Every link of the host namespace, with its kind and alias. */
export async function listLinks(ctx: DriverContext): Promise<{ name: string; kind: string | undefined; alias: string | undefined }[]> {
  const { stdout } = await ctx.runner.run({
    command: 'ip',
    args: ['-json', '-details', 'link', 'show'],
    netns: ctx.hostNetns,
    signal: ctx.signal,
  });
  return (JSON.parse(stdout || '[]') as JsonLink[]).map((link) => ({
    name: link.ifname,
    kind: link.linkinfo?.info_kind,
    alias: link.ifalias,
  }));
}

/**
 * The subnet and gateway of an existing bridge (Docker's `-b`): its first
 * IPv4 address. Throws ERR_INVALID_CONFIG when it is missing, not a bridge, or
 * has no IPv4 address.
 */
export async function existingBridgeSubnet(ctx: DriverContext, bridge: string): Promise<SubnetConfig> {
  const link = await readLink(ctx, ctx.hostNetns, bridge);
  if (!link) throw invalidConfig('bridge', `the existing bridge ${bridge} does not exist in the host namespace`);
  if (link.kind !== 'bridge') throw invalidConfig('bridge', `${bridge} is a ${link.kind ?? 'plain'} link, not a bridge`);
  const first = link.ipv4[0];
  if (!first) throw invalidConfig('bridge', `the existing bridge ${bridge} has no IPv4 address to use as gateway`);
  const cidr = parseCidr(first, 'bridge address');
  return { subnet: formatCidr(cidr), gateway: cidr.address.text };
}

/**
 * Makes sure a bridge netmode owns exists with its gateway address, up.
 * `mustBeNew` refuses an interface that already exists (a new network must not
 * adopt someone else's link); otherwise an existing bridge is completed.
 */
export async function ensureBridge(
  ctx: DriverContext,
  bridge: string,
  subnet: SubnetConfig,
  mtu: number,
  mustBeNew: boolean,
  owner: string,
): Promise<'created' | 'present'> {
  const prefix = parseCidr(subnet.subnet, 'subnet').prefixLength;
  const address = `${subnet.gateway}/${prefix}`;
  const link = await readLink(ctx, ctx.hostNetns, bridge);
  if (link && mustBeNew) {
    throw invalidConfig('bridgeName', `an interface named ${bridge} already exists; pass it as options.bridge to use it`);
  }
  if (link && link.kind !== 'bridge') throw invalidConfig('bridge', `${bridge} exists and is not a bridge`);
  const batch = new IpBatch();
  // The alias marks the bridge as this instance's, for gc.
  if (!link) batch.bridgeAdd(bridge, hashedMac(`bridge:${bridge}`), mtu).linkAlias(bridge, ctx.ownerAlias(owner));
  if (!link?.ipv4.includes(address)) batch.addressAdd(address, bridge);
  if (!link?.up) batch.linkUp(bridge);
  try {
    await runIpBatch(ctx.runner, ctx.hostNetns, batch, ctx.signal);
  } catch (error) {
    // Another process made it between our look and our batch: look again.
    if (!mustBeNew && (await readLink(ctx, ctx.hostNetns, bridge))?.ipv4.includes(address)) return 'present';
    // A new network's bridge did not exist before this batch: whatever is
    // there now is ours to remove, so a failed create leaves nothing.
    if (mustBeNew && !link) await deleteLinkIfPresent(ctx, ctx.hostNetns, bridge).catch(() => undefined);
    throw error;
  }
  return link ? 'present' : 'created';
}

/** Deletes a link in `netns` if it exists. */
export async function deleteLinkIfPresent(ctx: DriverContext, netns: NetnsRef, name: string): Promise<void> {
  if (!(await readLink(ctx, netns, name))) return;
  try {
    await runIpBatch(ctx.runner, netns, new IpBatch().linkDelete(name), ctx.signal);
  } catch (error) {
    if (await readLink(ctx, netns, name)) throw error;
  }
}

/**
 * Writes sysctls in `netns` with one `sysctl -w` process. Keys use `/` as
 * separator, since interface names may contain dots.
 */
export async function writeSysctls(ctx: DriverContext, netns: NetnsRef, values: Readonly<Record<string, string>>): Promise<void> {
  const args = Object.entries(values).map(([key, value]) => {
    if (!/^[A-Za-z0-9_/.-]+$/.test(key) || !/^[0-9]+$/.test(value)) throw invalidConfig('sysctl', `unsafe ${key}=${value}`);
    return `${key}=${value}`;
  });
  if (args.length === 0) return;
  await ctx.runner.run({ command: 'sysctl', args: ['-q', '-w', ...args], netns, signal: ctx.signal });
}

/** Reads one sysctl in `netns` (slash-separated key). */
export async function readSysctl(ctx: DriverContext, netns: NetnsRef, key: string): Promise<string> {
  const { stdout } = await ctx.runner.run({ command: 'sysctl', args: ['-n', key], netns, signal: ctx.signal });
  return stdout.trim();
}

/**
 * Deletes the conntrack entries of UDP flows to the given host ports, so a
 * flow that started before a mapping changed does not keep its old
 * translation (UDP "connections" never end by themselves). A missing
 * `conntrack` tool is reported as a warning, not a failure.
 */
export async function flushUdpConntrack(ctx: DriverContext, ports: readonly number[], containerId: string): Promise<void> {
  for (const port of ports) {
    try {
      await ctx.runner.run({
        command: 'conntrack',
        args: ['-D', '-p', 'udp', '--orig-port-dst', String(port)],
        netns: ctx.hostNetns,
        signal: ctx.signal,
      });
    } catch (error) {
      if (isNetModeError(error, ErrorCode.MISSING_TOOL)) {
        ctx.events.emit('warning', {
          code: 'CONNTRACK_NOT_FLUSHED',
          message: 'conntrack is not installed: stale UDP flows to changed port mappings were not flushed',
          containerId,
        });
        return;
      }
      // `conntrack -D` exits 1 when nothing matched: that is the usual case.
      if (isNetModeError(error, ErrorCode.COMMAND_FAILED) && /0 flow entries/.test(String(error.context['stderr']))) continue;
      throw error;
    }
  }
}

/** Every IPv4 address of the host namespace, in CIDR form. */
export async function hostAddresses(ctx: DriverContext): Promise<string[]> {
  const { stdout } = await ctx.runner.run({ command: 'ip', args: ['-json', '-4', 'address', 'show'], netns: ctx.hostNetns, signal: ctx.signal });
  return (JSON.parse(stdout || '[]') as JsonLink[]).flatMap((link) => (link.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`));
}

/** The IPv4 routes of the host namespace's main table: destination (`default`, a CIDR or an address) and device. */
export async function hostRoutes(ctx: DriverContext): Promise<{ dst: string; dev: string | undefined }[]> {
  const { stdout } = await ctx.runner.run({ command: 'ip', args: ['-json', '-4', 'route', 'show'], netns: ctx.hostNetns, signal: ctx.signal });
  return (JSON.parse(stdout || '[]') as { dst?: string; dev?: string }[]).map((r) => ({ dst: r.dst ?? 'default', dev: r.dev }));
}
