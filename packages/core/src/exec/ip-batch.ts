import { ErrorCode, NetModeError, invalidConfig } from '../errors.js';
import { assertNetnsName, validateNetnsRef, type NetnsRef } from '../model/netns-ref.js';
import { parseAddress, parseCidr } from '../net/address.js';
import { assertInterfaceName } from '../net/names.js';
import type { CommandResult, CommandRunner } from './runner.js';

// `ip -batch` splits each line on white space and treats `#` as a comment, so
// every token must be free of both; names and values are checked by their own
// rules before they get here, this is the last guard.
const SAFE_TOKEN = /^[A-Za-z0-9_.:/@+-]+$/;

/** What {@link IpBatch.linkAdd} puts between `link add NAME` and `type KIND`. */
export interface LinkAddOptions {
  /** Its MAC address. */
  readonly mac?: string;
  /** Its MTU. */
  readonly mtu?: number;
  /** The link it is made on (`link PARENT`: a macvlan's or vlan's parent). */
  readonly parent?: string;
  /** The bridge it becomes a port of. */
  readonly master?: string;
  /** The namespace it is born in, by the file that pins it (`/run/netns/NAME`, `/proc/PID/ns/net`). */
  readonly netnsPath?: string;
  /** Whether it comes up at once. */
  readonly up?: boolean;
  /**
   * What follows `type KIND`: the kind's own arguments (`mode bridge` for a
   * macvlan, `peer name eth0 netns PATH` for a veth), one token each, each
   * checked by the batch token rule.
   */
  readonly kindArgs?: readonly string[];
}

/** One route, for {@link IpBatch.routeAdd}. */
export interface RouteSpec {
  /** The destination: `default`, an address (a host route) or a CIDR. */
  readonly to: string;
  /** The next hop, when the route goes through a gateway. */
  readonly via?: string;
  /** The interface it leaves through. */
  readonly dev: string;
  /** Its scope: `link` for a destination reached directly on `dev` (a point-to-point peer). */
  readonly scope?: 'global' | 'link' | 'host';
  /** The source address the kernel should pick for it. */
  readonly src?: string;
  /** Its metric. */
  readonly metric?: number;
}

/** What {@link IpBatch.addressAdd} may add to an address. */
export interface AddressOptions {
  /** Its scope (`link` for an address only meaningful on the link). */
  readonly scope?: 'global' | 'link' | 'host';
  /** The other end of a point-to-point link (`peer ADDRESS`). */
  readonly peer?: string;
  /** Whether duplicate address detection is skipped (IPv6: the address is usable at once). */
  readonly nodad?: boolean;
  /** Whether the IPv4 address gets its subnet's broadcast address (`brd +`), as Docker gives eth0's. */
  readonly broadcast?: boolean;
}

/**
 * Builds the lines of one `ip -batch -` script. Each method validates its
 * inputs, so nothing unsafe reaches a line; anything else is an
 * ERR_INVALID_CONFIG thrown before a process starts. A driver that needs a
 * command no method makes builds it with {@link IpBatch.line}, whose tokens
 * pass the same final check.
 */
export class IpBatch {
  readonly #lines: string[] = [];

  /** The lines so far, one command each. */
  get lines(): readonly string[] {
    return this.#lines;
  }

  /** Whether no line was added. */
  get empty(): boolean {
    return this.#lines.length === 0;
  }

  /** `link set dev DEV up`. */
  linkUp(dev: string): this {
    assertInterfaceName(dev);
    return this.#add('link', 'set', 'dev', dev, 'up');
  }

  /** `link set dev DEV down`. */
  linkDown(dev: string): this {
    assertInterfaceName(dev);
    return this.#add('link', 'set', 'dev', dev, 'down');
  }

  /** `link delete dev DEV`. */
  linkDelete(dev: string): this {
    assertInterfaceName(dev);
    return this.#add('link', 'delete', 'dev', dev);
  }

  /**
   * `link add NAME address MAC mtu MTU type bridge`: a new bridge, down. The
   * MAC is set explicitly because a bridge otherwise takes the lowest MAC of
   * its ports, and changes it as ports come and go.
   */
  bridgeAdd(name: string, mac: string, mtu: number): this {
    assertInterfaceName(name);
    assertMac(mac);
    return this.#add('link', 'add', name, 'address', mac, 'mtu', String(checkMtu(mtu)), 'type', 'bridge');
  }

  /**
   * `link add NAME [address MAC] [mtu M] [link PARENT] [master BRIDGE]
   * [netns PATH] [up] type KIND [KIND ARGS…]`: any kind of link, created in
   * one step (born in its namespace when `netnsPath` is given: no move and
   * no rename, each of which costs ~21 ms in the kernel).
   */
  linkAdd(name: string, kind: string, options: LinkAddOptions = {}): this {
    assertInterfaceName(name);
    if (typeof kind !== 'string' || !/^[a-z][a-z0-9_]*$/.test(kind))
      throw invalidConfig('kind', `${JSON.stringify(kind)} is not a link kind`);
    if (options.mac !== undefined) assertMac(options.mac);
    if (options.parent !== undefined) assertInterfaceName(options.parent, 'parent');
    if (options.master !== undefined) assertInterfaceName(options.master, 'master');
    if (options.netnsPath !== undefined) validateNetnsRef({ kind: 'path', path: options.netnsPath }, 'netns');
    return this.#add(
      'link',
      'add',
      name,
      ...(options.mac === undefined ? [] : ['address', options.mac]),
      ...(options.mtu === undefined ? [] : ['mtu', String(checkMtu(options.mtu))]),
      ...(options.parent === undefined ? [] : ['link', options.parent]),
      ...(options.master === undefined ? [] : ['master', options.master]),
      ...(options.netnsPath === undefined ? [] : ['netns', options.netnsPath]),
      ...(options.up ? ['up'] : []),
      'type',
      kind,
      ...(options.kindArgs ?? []),
    );
  }

  /**
   * One veth pair in one step: the host end `hostName`, up, a port of
   * `bridge` when one is given, and the peer created directly inside the
   * namespace pinned at `peerNetnsPath` as `peerName` (no move and no
   * rename), both with `mtu`; the peer with `peerMac` when given (set at
   * birth, so no later `link set` is needed).
   */
  vethAdd(hostName: string, bridge: string | undefined, mtu: number, peerName: string, peerNetnsPath: string, peerMac?: string): this {
    assertInterfaceName(peerName);
    validateNetnsRef({ kind: 'path', path: peerNetnsPath }, 'netns');
    if (peerMac !== undefined) assertMac(peerMac);
    const m = String(checkMtu(mtu));
    const address = peerMac === undefined ? [] : ['address', peerMac];
    return this.linkAdd(hostName, 'veth', {
      mtu,
      ...(bridge === undefined ? {} : { master: bridge }),
      up: true,
      kindArgs: ['peer', 'name', peerName, ...address, 'mtu', m, 'netns', peerNetnsPath],
    });
  }

  /** `link set dev DEV type bridge_slave hairpin on`: lets a container reach itself through the host (published ports). */
  hairpinOn(dev: string): this {
    assertInterfaceName(dev);
    return this.#add('link', 'set', 'dev', dev, 'type', 'bridge_slave', 'hairpin', 'on');
  }

  /**
   * `link set dev DEV alias ALIAS`: the ownership mark netmode sets on the
   * links it makes (see `DriverContext.ownerAlias`). An alias is at most 255
   * bytes and, on a batch line, one token.
   */
  linkAlias(dev: string, alias: string): this {
    assertInterfaceName(dev);
    if (typeof alias !== 'string' || alias.length === 0 || alias.length > 255) {
      throw invalidConfig('alias', `${JSON.stringify(alias)} must be 1 to 255 characters`);
    }
    return this.#add('link', 'set', 'dev', dev, 'alias', alias);
  }

  /** `link set dev DEV master BRIDGE up`: (re)attaches a port to its bridge and brings it up. */
  linkSetMasterUp(dev: string, bridge: string): this {
    assertInterfaceName(dev);
    assertInterfaceName(bridge);
    return this.#add('link', 'set', 'dev', dev, 'master', bridge, 'up');
  }

  /** `link set dev DEV address MAC`. */
  linkSetMac(dev: string, mac: string): this {
    assertInterfaceName(dev);
    assertMac(mac);
    return this.#add('link', 'set', 'dev', dev, 'address', mac);
  }

  /** `netns add NAME`. Never put this in a batch run with `ip -n` (see FACTS: it is lost). */
  netnsAdd(name: string): this {
    assertNetnsName(name);
    return this.#add('netns', 'add', name);
  }

  /** `netns delete NAME`. */
  netnsDelete(name: string): this {
    assertNetnsName(name);
    return this.#add('netns', 'delete', name);
  }

  /**
   * `address add CIDR [peer ADDRESS] [brd +] dev DEV [scope SCOPE] [nodad]` (an
   * address with its prefix length, like `172.17.0.2/16`).
   */
  addressAdd(cidr: string, dev: string, options: AddressOptions = {}): this {
    assertInterfaceName(dev);
    const parsed = parseCidr(cidr, 'address');
    return this.#add(
      'address',
      'add',
      `${parsed.address.text}/${parsed.prefixLength}`,
      ...(options.peer === undefined ? [] : ['peer', parseAddress(options.peer, 'peer').text]),
      ...(options.broadcast && parsed.address.family === 4 ? ['brd', '+'] : []),
      'dev',
      dev,
      ...(options.scope === undefined ? [] : ['scope', checkScope(options.scope)]),
      ...(options.nodad ? ['nodad'] : []),
    );
  }

  /** `route add TO [via GATEWAY] dev DEV [scope SCOPE] [src ADDRESS] [metric N]`. */
  routeAdd(route: RouteSpec): this {
    assertInterfaceName(route.dev);
    const to = route.to === 'default' ? 'default' : routeDestination(route.to);
    if (route.metric !== undefined && (!Number.isInteger(route.metric) || route.metric < 0 || route.metric > 0xffffffff)) {
      throw invalidConfig('metric', `${route.metric} must be a whole number from 0 to 4294967295`);
    }
    return this.#add(
      'route',
      'add',
      to,
      ...(route.via === undefined ? [] : ['via', parseAddress(route.via, 'via').text]),
      'dev',
      route.dev,
      ...(route.scope === undefined ? [] : ['scope', checkScope(route.scope)]),
      ...(route.src === undefined ? [] : ['src', parseAddress(route.src, 'src').text]),
      ...(route.metric === undefined ? [] : ['metric', String(route.metric)]),
    );
  }

  /**
   * A line no other method makes, token by token (`line('link', 'set',
   * 'dev', name, 'arp', 'off')`). Each token must pass the batch token rule
   * (letters, digits and `_ . : / @ + -`: no white space, no quotes, no `#`);
   * validate names and values by their own rules first, as the typed
   * methods do.
   */
  line(...tokens: string[]): this {
    if (tokens.length === 0) throw invalidConfig('ip batch', 'an empty line');
    return this.#add(...tokens);
  }

  /**
   * `route add default via GATEWAY dev DEV`. The gateway's family picks IPv4 or
   * IPv6 routing: a batch line cannot carry `-4`/`-6`, which are global options.
   */
  defaultRouteAdd(gateway: string, dev: string): this {
    return this.routeAdd({ to: 'default', via: gateway, dev });
  }

  /** Appends every line of `other` (built and validated there), to run batches of one namespace in one process. */
  append(other: IpBatch): this {
    this.#lines.push(...other.lines);
    return this;
  }

  /** The script: the lines joined with newlines, ending with one. */
  toString(): string {
    return this.#lines.map((line) => `${line}\n`).join('');
  }

  #add(...tokens: string[]): this {
    for (const token of tokens) {
      if (!SAFE_TOKEN.test(token)) throw invalidConfig('ip batch', `unsafe token ${JSON.stringify(token)}`);
    }
    this.#lines.push(tokens.join(' '));
    return this;
  }
}

function assertMac(mac: string): void {
  if (typeof mac !== 'string' || !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac)) {
    throw invalidConfig('mac', `${JSON.stringify(mac)} is not a MAC address like 02:42:ac:11:00:02`);
  }
}

function checkScope(scope: string): string {
  if (scope !== 'global' && scope !== 'link' && scope !== 'host')
    throw invalidConfig('scope', `${JSON.stringify(scope)} must be global, link or host`);
  return scope;
}

function routeDestination(to: string): string {
  if (to.includes('/')) {
    const cidr = parseCidr(to, 'route');
    return `${cidr.address.text}/${cidr.prefixLength}`;
  }
  return parseAddress(to, 'route').text;
}

function checkMtu(mtu: number): number {
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw invalidConfig('mtu', `${mtu} must be a whole number from 68 to 65535`);
  return mtu;
}

/**
 * Runs a batch as one `ip -batch -` process in `netns`. `ip` stops at the
 * first failing line and reports `Command failed -:N`; the error's context
 * names that line so the caller knows which steps took effect.
 */
export async function runIpBatch(
  runner: CommandRunner,
  netns: NetnsRef,
  batch: IpBatch,
  signal?: AbortSignal,
): Promise<CommandResult | undefined> {
  if (batch.empty) return undefined;
  try {
    return await runner.run({ command: 'ip', args: ['-batch', '-'], netns, input: batch.toString(), signal });
  } catch (error) {
    if (error instanceof NetModeError && error.code === ErrorCode.COMMAND_FAILED) {
      const match = /Command failed -:(\d+)/.exec(String(error.context['stderr'] ?? ''));
      const lineNumber = match ? Number(match[1]) : undefined;
      error.withContext({ failedLine: lineNumber, failedCommand: lineNumber ? batch.lines[lineNumber - 1] : undefined });
    }
    throw error;
  }
}
