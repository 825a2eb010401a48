import { isToolFailure } from '../../errors.js';
import { IpBatch, runIpBatch } from '../../exec/ip-batch.js';
import type { NetnsRef } from '../../model/netns-ref.js';
import { assertInterfaceName } from '../../net/names.js';
import type { DriverContext } from '../network-driver.js';

/** What `ip -json -details address show` says about one link. */
export interface LinkFacts {
  /** The link's name. */
  readonly name: string;
  /** Its kind (`bridge`, `veth`, `macvlan`, …; absent for a physical NIC). */
  readonly kind: string | undefined;
  /** Its hardware type (`ether`, `loopback`, …), when `ip` printed it. */
  readonly linkType: string | undefined;
  /** Whether it is administratively up. */
  readonly up: boolean;
  /** Its MTU (0 when `ip` printed none). */
  readonly mtu: number;
  /** Its MAC address. */
  readonly mac: string | undefined;
  /** The bridge it is a port of, if any. */
  readonly master: string | undefined;
  /** Its alias: netmode's ownership mark on the links it made (see `DriverContext.ownerAlias`). */
  readonly alias: string | undefined;
  /** Its IPv4 addresses in CIDR form (`172.17.0.1/16`). */
  readonly ipv4: readonly string[];
}

interface JsonLink {
  ifname: string;
  flags?: string[];
  mtu?: number;
  link_type?: string;
  address?: string;
  master?: string;
  ifalias?: string;
  linkinfo?: { info_kind?: string };
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

function facts(name: string, link: JsonLink | undefined): LinkFacts {
  return {
    name: link?.ifname ?? name,
    kind: link?.linkinfo?.info_kind,
    linkType: link?.link_type,
    up: link?.flags?.includes('UP') ?? false,
    mtu: link?.mtu ?? 0,
    mac: link?.address,
    master: link?.master,
    alias: link?.ifalias,
    ipv4: (link?.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`),
  };
}

/**
 * Reads one link in `netns`, or `undefined` when it does not exist (one
 * `ip` process). A runner that prints nothing (a recording runner in unit
 * tests) yields a link without details.
 */
export async function readLink(ctx: DriverContext, netns: NetnsRef, name: string): Promise<LinkFacts | undefined> {
  assertInterfaceName(name);
  let stdout: string;
  try {
    ({ stdout } = await ctx.runner.run({
      command: 'ip',
      args: ['-json', '-details', 'address', 'show', 'dev', name],
      netns,
      signal: ctx.signal,
      expectedFailure: 'missing',
    }));
  } catch (error) {
    if (isToolFailure(error, 'missing')) return undefined;
    throw error;
  }
  return facts(name, stdout.trim() === '' ? undefined : (JSON.parse(stdout) as JsonLink[])[0]);
}

/** Every link of `netns` (default: the host namespace), with kind, master, alias and addresses (one `ip` process). */
export async function listLinks(ctx: DriverContext, netns: NetnsRef = ctx.hostNetns): Promise<LinkFacts[]> {
  const { stdout } = await ctx.runner.run({ command: 'ip', args: ['-json', '-details', 'address', 'show'], netns, signal: ctx.signal });
  return (JSON.parse(stdout || '[]') as JsonLink[]).map((link) => facts(link.ifname, link));
}

/** Options of {@link deleteLinkIfPresent}. */
export interface DeleteLinkOptions {
  /** Delete it only when it is of this kind (`macvlan`, `veth`): a link of the same name and another kind is someone else's. */
  readonly kind?: string;
  /**
   * Delete it only when its alias is this instance's mark for this owner
   * (`endpointOwner(id)`, see `DriverContext.ownerAlias`): proof that it is ours.
   */
  readonly ownedBy?: string;
  /** Aborts the deletion; leave it out in teardown and undo steps, which must finish. */
  readonly signal?: AbortSignal;
}

/**
 * Deletes the link `name` in `netns` if it exists (and, with `kind`, is of
 * that kind). Idempotent: a link or namespace that is gone is success.
 * Resolves to whether it deleted something.
 */
export async function deleteLinkIfPresent(
  ctx: DriverContext,
  netns: NetnsRef,
  name: string,
  options: DeleteLinkOptions = {},
): Promise<boolean> {
  if (netns.kind !== 'host' && !(await ctx.sandboxes.exists(netns))) return false;
  const link = await readLink({ ...ctx, signal: options.signal }, netns, name);
  if (!link || (options.kind !== undefined && link.kind !== options.kind)) return false;
  if (options.ownedBy !== undefined && ctx.ownerOfAlias(link.alias) !== options.ownedBy) return false;
  try {
    await runIpBatch(ctx.runner, netns, new IpBatch().linkDelete(name), options.signal);
  } catch (error) {
    // Gone meanwhile (another deleter, a namespace removed) is what we wanted.
    if (await readLink({ ...ctx, signal: undefined }, netns, name)) throw error;
  }
  return true;
}

/** One route of `ip -json route show`, as the kit reads it. */
export interface RouteFacts {
  /** `default`, a CIDR, or an address (a host route). */
  readonly dst: string;
  /** The interface it leaves through. */
  readonly dev: string | undefined;
  /** Its gateway, if it has one. */
  readonly gateway: string | undefined;
  /** Its scope (`link`, `host`, `global`…), when `ip` printed one. */
  readonly scope: string | undefined;
}

/** Options of {@link readRoutes}. */
export interface ReadRoutesOptions {
  /** Only the routes through this interface (a missing interface: none). */
  readonly dev?: string;
  /** IPv4 (default) or IPv6. */
  readonly family?: 4 | 6;
}

/** The routes of the main table of `netns` (one `ip` process). */
export async function readRoutes(ctx: DriverContext, netns: NetnsRef, options: ReadRoutesOptions = {}): Promise<RouteFacts[]> {
  if (options.dev !== undefined) assertInterfaceName(options.dev, 'dev');
  const args = ['-json', options.family === 6 ? '-6' : '-4', 'route', 'show', ...(options.dev === undefined ? [] : ['dev', options.dev])];
  let stdout: string;
  try {
    ({ stdout } = await ctx.runner.run({
      command: 'ip',
      args,
      netns,
      signal: ctx.signal,
      ...(options.dev === undefined ? {} : { expectedFailure: 'missing' as const }),
    }));
  } catch (error) {
    if (options.dev !== undefined && isToolFailure(error, 'missing')) return [];
    throw error;
  }
  return (JSON.parse(stdout || '[]') as { dst?: string; dev?: string; gateway?: string; scope?: string }[]).map((r) => ({
    dst: r.dst ?? 'default',
    dev: r.dev,
    gateway: r.gateway,
    scope: r.scope,
  }));
}
