import {
  ErrorCode,
  IpBatch,
  deleteLinkIfPresent,
  formatCidr,
  hashedMac,
  invalidConfig,
  isNetModeError,
  isToolFailure,
  listLinks,
  parseCidr,
  readLink,
  runIpBatch,
  type DriverContext,
  type SubnetConfig,
} from '@netmode/core';

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
        // Nothing to flush ("0 flow entries") is the usual answer.
        expectedFailure: 'missing',
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
      // `conntrack -D` exits 1 when nothing matched ("0 flow entries"): that is the usual case.
      if (isToolFailure(error, 'missing')) continue;
      throw error;
    }
  }
}

/** Every IPv4 address of the host namespace, in CIDR form. */
export async function hostAddresses(ctx: DriverContext): Promise<string[]> {
  return (await listLinks(ctx)).flatMap((link) => link.ipv4);
}
