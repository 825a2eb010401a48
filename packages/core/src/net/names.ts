import { createHash } from 'node:crypto';
import { invalidConfig } from '../errors.js';
import { parseAddress } from './address.js';

/** The longest interface name Linux accepts (IFNAMSIZ minus the terminating NUL). */
export const MAX_INTERFACE_NAME_LENGTH = 15;

// Linux itself allows almost any byte in an interface name; we allow a subset
// that is safe on an `ip -batch` line, in an nft rule and in a file name.
const INTERFACE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;
const OBJECT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/**
 * Throws ERR_INVALID_CONFIG unless `name` is an interface name netmode will
 * use: 1–15 characters of letters, digits, `_`, `.` and `-`, starting with a
 * letter or digit, and neither `.` nor `..`.
 */
export function assertInterfaceName(name: string, field = 'interface name'): void {
  if (typeof name !== 'string' || !INTERFACE_NAME.test(name)) {
    throw invalidConfig(
      field,
      `${JSON.stringify(name)} is not a valid interface name: use 1 to ${MAX_INTERFACE_NAME_LENGTH} letters, digits, '_', '.' or '-', starting with a letter or digit`,
    );
  }
}

/**
 * Throws ERR_INVALID_CONFIG unless `name` is a valid container id or network
 * name: 1–128 letters, digits, `_`, `.`, `-`, starting with a letter or digit
 * (Docker's rule for container names, with a length limit).
 */
export function assertObjectName(name: string, field: string): void {
  if (typeof name !== 'string' || !OBJECT_NAME.test(name)) {
    throw invalidConfig(
      field,
      `${JSON.stringify(name)} is not valid: use 1 to 128 letters, digits, '_', '.' or '-', starting with a letter or digit`,
    );
  }
}

/**
 * A deterministic kernel object name: `prefix` plus hex digits of a SHA-256 of
 * `id`, cut to `length` characters (15 for interfaces). The same id always
 * gives the same name, so an object can be traced back to its owner and found
 * again after a crash.
 */
export function hashedName(prefix: string, id: string, length = MAX_INTERFACE_NAME_LENGTH): string {
  const digits = length - prefix.length;
  if (digits < 6) throw invalidConfig('name prefix', `${JSON.stringify(prefix)} leaves fewer than 6 hash digits`);
  return prefix + createHash('sha256').update(id).digest('hex').slice(0, digits);
}

/**
 * Checks that `mac` is a MAC address an interface can carry — six
 * colon-separated hex bytes, unicast (the first octet even), not all zero —
 * and returns it in lower case, as the kernel and nft print it.
 *
 * @throws NetModeError ERR_INVALID_CONFIG naming `field` otherwise.
 */
export function assertMacAddress(mac: string, field = 'mac'): string {
  if (typeof mac !== 'string' || !MAC.test(mac)) {
    throw invalidConfig(field, `${JSON.stringify(mac)} is not a MAC address like 02:42:ac:11:00:02`);
  }
  if (Number.parseInt(mac.slice(0, 2), 16) & 1) throw invalidConfig(field, `${mac} is a multicast address; the first octet must be even`);
  if (/^(00:){5}00$/.test(mac)) throw invalidConfig(field, 'the all-zero address cannot be assigned');
  return mac.toLowerCase();
}

/**
 * A deterministic, locally administered unicast MAC address for `id`
 * (`02:` and five bytes of a SHA-256 of it), so an object netmode makes keeps
 * the same MAC for its whole life and across re-creation.
 */
export function hashedMac(id: string): string {
  const bytes = createHash('sha256').update(id).digest().subarray(0, 5);
  return ['02', ...[...bytes].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

/**
 * The MAC address a container interface gets from its IPv4 address, as
 * Docker gave them before version 28: `02:42:` and the address's four bytes
 * (10.88.0.2 → `02:42:0a:58:00:02`). An address handed to a new container
 * then comes with the MAC its neighbours (the host, other containers) still
 * have cached for it, so no gratuitous ARP is needed for them to reach it.
 *
 * @throws NetModeError ERR_INVALID_CONFIG when `address` is not an IPv4 address.
 */
export function macFromIpv4(address: string): string {
  const parsed = parseAddress(address, 'address');
  if (parsed.family !== 4) throw invalidConfig('address', `${address} is not an IPv4 address`);
  return ['02', '42', ...parsed.text.split('.').map((octet) => Number(octet).toString(16).padStart(2, '0'))].join(':');
}

/** `text` with every regular-expression metacharacter escaped, to match it literally (a name prefix, say). */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
}
