import ipaddr from 'ipaddr.js';
import { invalidConfig } from '../errors.js';

/**
 * Strict parsing and arithmetic for IP addresses and CIDRs. Every address that
 * reaches an `ip` or `nft` command line goes through here first: nft, for one,
 * takes `10.0.1.300` for a host name and fails the whole transaction on it.
 *
 * @module
 */

/** An IP address family: 4 or 6. */
export type IpFamily = 4 | 6;

/** A parsed address, in canonical text and as a number. */
export interface IpAddress {
  /** 4 or 6. */
  readonly family: IpFamily;
  /** Canonical text: a dotted quad, or RFC 5952 for IPv6 (`fd00::1`). */
  readonly text: string;
  /** The address as an unsigned integer (32 or 128 bits). */
  readonly value: bigint;
}

/** A parsed CIDR: an address with a prefix length, and the network it lies in. */
export interface Cidr {
  /** 4 or 6. */
  readonly family: IpFamily;
  /** The address as written (canonicalised); may have host bits set. */
  readonly address: IpAddress;
  /** The prefix length: 0–32 for IPv4, 0–128 for IPv6. */
  readonly prefixLength: number;
  /** The network address: `address` with the host bits cleared. */
  readonly network: bigint;
  /** How many addresses the network spans (2 to the power of the host bits). */
  readonly size: bigint;
}

/** The number of bits in an address of each family. */
export const ADDRESS_BITS: Readonly<Record<IpFamily, number>> = { 4: 32, 6: 128 };

const IPV4_EXAMPLE = 'a dotted quad such as 10.0.0.1';
const IPV6_EXAMPLE = 'hex groups such as fd00::1';
// Checked before ipaddr sees the text: ipaddr accepts octal, hex and
// three-part IPv4, zone ids and dotted IPv4 inside IPv6, none of which may
// reach a command line.
const IPV4_CHARS = /^[0-9.]{1,15}$/;
const IPV6_CHARS = /^[0-9A-Fa-f:]{2,39}$/;
const PREFIX_LENGTH = /^(0|[1-9][0-9]{0,2})$/;

/**
 * Parses one IPv4 or IPv6 address, without prefix length.
 *
 * Accepts only dotted quads without leading zeros and IPv6 in hex groups;
 * rejects host names, whitespace, zone ids (`%eth0`), dotted IPv4 inside IPv6
 * and IPv4-mapped IPv6 (`::ffff:a00:1`).
 *
 * @param field - names the option at fault in the error message.
 * @throws NetModeError ERR_INVALID_CONFIG when `text` is not such an address.
 */
export function parseAddress(text: string, field = 'address'): IpAddress {
  if (typeof text !== 'string') throw invalidConfig(field, `expected an IP address string, got ${typeof text}`);
  const shown = JSON.stringify(text);
  if (text.includes(':')) {
    if (text.includes('%')) throw invalidConfig(field, `${shown} has a zone id; write the address alone, such as fe80::1`);
    if (text.includes('.')) {
      throw invalidConfig(field, `${shown} embeds dotted IPv4 in IPv6; write IPv4 as a dotted quad or IPv6 as ${IPV6_EXAMPLE}`);
    }
    if (!IPV6_CHARS.test(text) || !ipaddr.IPv6.isValid(text)) {
      throw invalidConfig(field, `${shown} is not a valid IPv6 address; use ${IPV6_EXAMPLE}`);
    }
    const parsed = ipaddr.IPv6.parse(text);
    if (parsed.isIPv4MappedAddress()) {
      throw invalidConfig(
        field,
        `${shown} is an IPv4-mapped IPv6 address; write it as the IPv4 address ${parsed.toIPv4Address().toString()}`,
      );
    }
    return { family: 6, text: parsed.toRFC5952String(), value: bytesToBigInt(parsed.toByteArray()) };
  }
  if (!IPV4_CHARS.test(text) || !ipaddr.IPv4.isValidFourPartDecimal(text)) {
    throw invalidConfig(field, `${shown} is not a valid IP address; use ${IPV4_EXAMPLE} (no leading zeros) or ${IPV6_EXAMPLE}`);
  }
  const parsed = ipaddr.IPv4.parse(text);
  return { family: 4, text: parsed.toString(), value: bytesToBigInt(parsed.toByteArray()) };
}

/**
 * Parses `ADDRESS/PREFIX`. The address may have host bits set (an interface
 * address such as `172.17.0.1/16`); use {@link parseNetwork} where a network
 * is required.
 *
 * @throws NetModeError ERR_INVALID_CONFIG on a malformed address or a prefix length out of range.
 */
export function parseCidr(text: string, field = 'cidr'): Cidr {
  if (typeof text !== 'string') throw invalidConfig(field, `expected a CIDR string, got ${typeof text}`);
  const slash = text.indexOf('/');
  if (slash < 0 || slash !== text.lastIndexOf('/')) {
    throw invalidConfig(field, `${JSON.stringify(text)} is not a CIDR; use ADDRESS/PREFIX such as 10.0.0.0/24 or fd00::/64`);
  }
  const address = parseAddress(text.slice(0, slash), field);
  const prefixText = text.slice(slash + 1);
  const bits = ADDRESS_BITS[address.family];
  const prefixLength = PREFIX_LENGTH.test(prefixText) ? Number(prefixText) : Number.NaN;
  if (!(prefixLength >= 0 && prefixLength <= bits)) {
    throw invalidConfig(
      field,
      `${JSON.stringify(text)} has an invalid prefix length; use a whole number from 0 to ${bits} for IPv${address.family}`,
    );
  }
  const size = 1n << BigInt(bits - prefixLength);
  return { family: address.family, address, prefixLength, network: address.value - (address.value % size), size };
}

/**
 * Parses a network CIDR: like {@link parseCidr}, but the host bits must be
 * clear, so `172.17.0.1/16` is refused with a message naming `172.17.0.0/16`.
 *
 * @throws NetModeError ERR_INVALID_CONFIG when `text` is not a network CIDR.
 */
export function parseNetwork(text: string, field = 'subnet'): Cidr {
  const cidr = parseCidr(text, field);
  if (cidr.network !== cidr.address.value) {
    throw invalidConfig(field, `${JSON.stringify(text)} has host bits set; the network is ${formatCidr(cidr)}`);
  }
  return cidr;
}

/** The canonical network form of a CIDR, such as `172.17.0.0/16` or `fd00:1::/64`. */
export function formatCidr(cidr: Cidr): string {
  return `${bigIntToAddress(cidr.network, cidr.family)}/${cidr.prefixLength}`;
}

/**
 * The integer value of an address.
 *
 * @throws NetModeError ERR_INVALID_CONFIG when `text` is not a valid address.
 */
export function addressToBigInt(text: string, field = 'address'): bigint {
  return parseAddress(text, field).value;
}

/**
 * The canonical text of the address with integer value `value`.
 *
 * @throws NetModeError ERR_INVALID_CONFIG when `value` does not fit the family.
 */
export function bigIntToAddress(value: bigint, family: IpFamily): string {
  const bits = ADDRESS_BITS[family];
  if (value < 0n || value >= 1n << BigInt(bits)) {
    throw invalidConfig('address', `${value} is out of range for an IPv${family} address`);
  }
  // IPv4 is built from 8-bit octets, IPv6 from 16-bit groups.
  const width = family === 4 ? 8 : 16;
  const mask = (1n << BigInt(width)) - 1n;
  const parts: number[] = [];
  for (let shift = bits - width; shift >= 0; shift -= width) parts.push(Number((value >> BigInt(shift)) & mask));
  return family === 4 ? new ipaddr.IPv4(parts).toString() : new ipaddr.IPv6(parts).toRFC5952String();
}

/**
 * The CIDR of the network that starts at `network` with `prefixLength`.
 *
 * @throws NetModeError ERR_INVALID_CONFIG when the prefix length is out of
 * range or `network` has host bits set.
 */
export function toCidr(family: IpFamily, network: bigint, prefixLength: number): Cidr {
  return parseNetwork(`${bigIntToAddress(network, family)}/${prefixLength}`, 'cidr');
}

/** The first address of the network (the network address itself). */
export function firstAddress(cidr: Cidr): bigint {
  return cidr.network;
}

/** The last address of the network (the IPv4 broadcast address). */
export function lastAddress(cidr: Cidr): bigint {
  return cidr.network + cidr.size - 1n;
}

/** Whether `address` lies inside the network of `cidr`; always false across families. */
export function cidrContains(cidr: Cidr, address: IpAddress): boolean {
  return cidr.family === address.family && address.value >= cidr.network && address.value <= lastAddress(cidr);
}

/** Whether the network of `inner` lies wholly inside the network of `outer`. */
export function cidrContainsCidr(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && inner.network >= outer.network && lastAddress(inner) <= lastAddress(outer);
}

/** Whether the networks of `a` and `b` share at least one address; always false across families. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.network <= lastAddress(b) && b.network <= lastAddress(a);
}

function bytesToBigInt(bytes: readonly number[]): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}
