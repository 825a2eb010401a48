import { isDeepStrictEqual } from 'node:util';
import { invalidConfig } from '../errors.js';
import type { ConnectOptions } from '../model/endpoint.js';
import type { NameSettings } from '../model/names.js';
import { parseAddress } from '../net/address.js';
import { assertObjectName } from '../net/names.js';

/**
 * The name settings of a sandbox: their checks, and how a connect settles
 * them against the sandbox's (given once, then repeated or left out).
 *
 * @module
 */

/** The {@link NameSettings} fields of connect options, in the order messages name them. */
export const NAME_SETTING_FIELDS = ['name', 'hostname', 'domainname', 'dns', 'dnsSearch', 'dnsOptions', 'extraHosts'] as const;

/** The address an `extraHosts` entry may give instead of an IP: the host's address on the container's network. */
export const HOST_GATEWAY = 'host-gateway';

// RFC 1123 labels: letters, digits and '-', not at either end; what glibc,
// musl and `hostname` accept. The whole name at most 253 characters.
const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
// A resolver option as resolv.conf(5) writes them: `ndots:2`, `rotate`, `edns0`.
const RESOLVER_OPTION = /^[a-z][a-z0-9-]*(:[0-9]{1,5})?$/;

/** Whether `name` is a DNS name of dot-separated RFC 1123 labels (a trailing dot allowed). */
export function isDnsName(name: string): boolean {
  if (typeof name !== 'string' || name.length === 0 || name.length > 253) return false;
  const labels = (name.endsWith('.') ? name.slice(0, -1) : name).split('.');
  return labels.every((label) => LABEL.test(label));
}

/** Throws ERR_INVALID_CONFIG unless every name setting in `options` is well formed. */
export function validateNameSettings(options: ConnectOptions): void {
  if (options.name !== undefined) assertObjectName(options.name, 'name');
  if (options.hostname !== undefined) assertLabels(options.hostname, 'hostname', 63);
  if (options.domainname !== undefined) assertLabels(options.domainname, 'domainname', 253);
  stringList(options.dns, 'dns').forEach((server, index) => {
    const address = parseAddress(server, `dns[${index}]`);
    if (address.family !== 4) throw invalidConfig(`dns[${index}]`, `${server} is IPv6; netmode's names are IPv4 until IPv6 lands`);
  });
  stringList(options.dnsSearch, 'dnsSearch').forEach((domain, index) => {
    if (domain !== '.' && !isDnsName(domain)) throw invalidConfig(`dnsSearch[${index}]`, `${JSON.stringify(domain)} is not a domain name`);
  });
  stringList(options.dnsOptions, 'dnsOptions').forEach((option, index) => {
    if (!RESOLVER_OPTION.test(option)) {
      throw invalidConfig(`dnsOptions[${index}]`, `${JSON.stringify(option)} is not a resolver option such as ndots:2 or edns0`);
    }
  });
  stringList(options.extraHosts, 'extraHosts').forEach((entry, index) => parseExtraHost(entry, `extraHosts[${index}]`));
}

/** One `extraHosts` entry split: the name and the address (or {@link HOST_GATEWAY}). */
export interface ExtraHost {
  /** The host name. */
  readonly name: string;
  /** An IPv4 address, or `host-gateway`. */
  readonly address: string;
}

/**
 * Splits `NAME:ADDRESS` (Docker's `--add-host`; `NAME=ADDRESS` too, as
 * Docker 25 accepts) at its first separator.
 *
 * @throws ERR_INVALID_CONFIG naming `field` when either half is not what it must be.
 */
export function parseExtraHost(entry: string, field = 'extraHosts'): ExtraHost {
  if (typeof entry !== 'string') throw invalidConfig(field, 'must be a string NAME:ADDRESS');
  const at = entry.search(/[:=]/);
  if (at <= 0) throw invalidConfig(field, `${JSON.stringify(entry)} must be NAME:ADDRESS, such as db:10.0.0.5 or gw:host-gateway`);
  const name = entry.slice(0, at);
  const address = entry.slice(at + 1);
  if (!isDnsName(name)) throw invalidConfig(field, `${JSON.stringify(name)} is not a host name`);
  if (address !== HOST_GATEWAY) {
    const parsed = parseAddress(address, field);
    if (parsed.family !== 4) throw invalidConfig(field, `${address} is IPv6; netmode's names are IPv4 until IPv6 lands`);
  }
  return { name, address };
}

/** The name settings given in `options`, without the fields left out. */
export function nameSettingsOf(options: ConnectOptions): NameSettings {
  const settings: Record<string, unknown> = {};
  for (const field of NAME_SETTING_FIELDS) {
    const value = options[field];
    if (value !== undefined) settings[field] = Array.isArray(value) ? [...(value as string[])] : value;
  }
  return settings as NameSettings;
}

/**
 * The settings of a sandbox that exists already (`current`), checked against
 * a later connect's: a field given must equal the sandbox's.
 *
 * @throws ERR_INVALID_CONFIG naming the first field that differs.
 */
export function settleNameSettings(current: NameSettings, options: ConnectOptions, containerId: string): NameSettings {
  const given = nameSettingsOf(options);
  for (const field of NAME_SETTING_FIELDS) {
    if (given[field] !== undefined && !isDeepStrictEqual(given[field], current[field])) {
      throw invalidConfig(
        field,
        `container ${containerId} has its sandbox already, made with ${field} ${JSON.stringify(current[field] ?? null)}; ` +
          `name settings belong to the sandbox: leave ${field} out of this connect, or disconnect the container first`,
      );
    }
  }
  return current;
}

/**
 * The hostname a container gets when none is given: Docker's, the first 12
 * characters of a 64-hex-digit id; otherwise the id itself, cut to 63
 * characters (`_` and `.`, which an id may hold, become `-`).
 */
export function defaultHostname(containerId: string): string {
  if (/^[0-9a-f]{64}$/.test(containerId)) return containerId.slice(0, 12);
  return containerId.replace(/[_.]/g, '-').slice(0, 63).replace(/-+$/, '') || 'container';
}

/** The hostname of a sandbox with `settings`. */
export function hostnameOf(settings: NameSettings, containerId: string): string {
  return settings.hostname ?? defaultHostname(containerId);
}

function assertLabels(value: string, field: string, max: number): void {
  if (typeof value !== 'string' || value.length > max || !isDnsName(value) || value.endsWith('.')) {
    throw invalidConfig(
      field,
      `${JSON.stringify(value)} is not valid: use letters, digits and '-' in dot-separated labels, at most ${max} characters`,
    );
  }
}

function stringList(value: unknown, field: string): readonly string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw invalidConfig(field, 'must be an array of strings');
  return value as string[];
}
