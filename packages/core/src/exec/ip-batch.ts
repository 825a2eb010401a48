import { ErrorCode, NetModeError, invalidConfig } from '../errors.js';
import type { NetnsRef } from '../model/netns-ref.js';
import { parseAddress, parseCidr } from '../net/address.js';
import { assertInterfaceName, assertNetnsName } from '../net/names.js';
import type { CommandResult, CommandRunner } from './runner.js';

// `ip -batch` splits each line on white space and treats `#` as a comment, so
// every token must be free of both; names and values are checked by their own
// rules before they get here, this is the last guard.
const SAFE_TOKEN = /^[A-Za-z0-9_.:/@+-]+$/;

/**
 * Builds the lines of one `ip -batch -` script. Each method validates its
 * inputs, so nothing unsafe reaches a line; anything else is an
 * ERR_INVALID_CONFIG thrown before a process starts.
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
   * One veth pair in one step: the host end `hostName` enslaved to `bridge`
   * and up, the peer created directly inside the namespace pinned at
   * `peerNetnsPath` as `peerName` (no move and no rename, each of which
   * costs ~21 ms in the kernel), both with `mtu`; the peer with `peerMac`
   * when given (set at birth, so no later `link set` is needed).
   */
  vethAdd(hostName: string, bridge: string, mtu: number, peerName: string, peerNetnsPath: string, peerMac?: string): this {
    assertInterfaceName(hostName);
    assertInterfaceName(bridge);
    assertInterfaceName(peerName);
    if (peerMac !== undefined) assertMac(peerMac);
    const m = String(checkMtu(mtu));
    const address = peerMac === undefined ? [] : ['address', peerMac];
    return this.#add('link', 'add', hostName, 'mtu', m, 'master', bridge, 'up', 'type', 'veth', 'peer', 'name', peerName, ...address, 'mtu', m, 'netns', peerNetnsPath);
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

  /** `address add CIDR dev DEV` (an address with its prefix length, like `172.17.0.2/16`). */
  addressAdd(cidr: string, dev: string): this {
    assertInterfaceName(dev);
    const parsed = parseCidr(cidr, 'address');
    return this.#add('address', 'add', `${parsed.address.text}/${parsed.prefixLength}`, 'dev', dev);
  }

  /**
   * `route add default via GATEWAY dev DEV`. The gateway's family picks IPv4 or
   * IPv6 routing: a batch line cannot carry `-4`/`-6`, which are global options.
   */
  defaultRouteAdd(gateway: string, dev: string): this {
    assertInterfaceName(dev);
    return this.#add('route', 'add', 'default', 'via', parseAddress(gateway, 'gateway').text, 'dev', dev);
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
