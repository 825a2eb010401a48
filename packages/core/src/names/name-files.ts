import type { Endpoint } from '../model/endpoint.js';
import type { NameFileContents, NameSettings } from '../model/names.js';
import type { NetworkRecord } from '../model/network.js';
import { parseAddress } from '../net/address.js';
import { embeddedDnsAddress } from './name-table.js';
import { HOST_GATEWAY, hostnameOf, parseExtraHost } from './settings.js';

/**
 * What a container's `hostname`, `hosts` and `resolv.conf` hold, as Docker
 * writes them: pure functions of the sandbox's records and the host's
 * `resolv.conf` text.
 *
 * @module
 */

/** The resolvers, search domains and options of a `resolv.conf`. */
export interface ResolvConf {
  /** `nameserver` lines, in order. */
  readonly nameservers: readonly string[];
  /** The last `search` (or `domain`) line's domains. */
  readonly search: readonly string[];
  /** The `options` lines' options, in order. */
  readonly options: readonly string[];
}

/**
 * Where a container is sent when the host's `resolv.conf` leaves no resolver
 * it can reach (only loopback ones, or none): Docker's fallback, Google's
 * public resolvers.
 */
export const FALLBACK_NAMESERVERS: readonly string[] = ['8.8.8.8', '8.8.4.4'];

/** The `nameserver` of systemd-resolved's stub, which only the host itself reaches. */
export const SYSTEMD_RESOLVED_STUB = '127.0.0.53';

/** Where systemd-resolved writes the resolvers it forwards to, for programs that cannot use its stub. */
export const SYSTEMD_RESOLVED_UPSTREAM = '/run/systemd/resolve/resolv.conf';

/** Reads the nameservers, search domains and options of a `resolv.conf` text; other lines are ignored. */
export function parseResolvConf(text: string): ResolvConf {
  const nameservers: string[] = [];
  let search: string[] = [];
  const options: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [keyword, ...values] = line.split(/\s+/);
    if (keyword === 'nameserver' && values[0] !== undefined) nameservers.push(values[0]);
    else if (keyword === 'search' || keyword === 'domain') search = values;
    else if (keyword === 'options') options.push(...values);
  }
  return { nameservers, search, options };
}

/** Whether `server` is an IPv4 or IPv6 loopback address (only the host's own namespace reaches it). */
export function isLoopback(server: string): boolean {
  try {
    const address = parseAddress(server.split('%')[0] as string, 'nameserver');
    return address.family === 4 ? address.text.startsWith('127.') : address.text === '::1';
  } catch {
    return false;
  }
}

/** Whether `conf` is systemd-resolved's stub file: its only resolver is 127.0.0.53. */
export function isSystemdStub(conf: ResolvConf): boolean {
  return conf.nameservers.length > 0 && conf.nameservers.every((s) => s === SYSTEMD_RESOLVED_STUB);
}

/** One endpoint of a sandbox and its network, as the name files need them. */
export interface NameFileEndpoint {
  /** The endpoint: its addresses, gateways, default route. */
  readonly endpoint: Endpoint;
  /** Its network: whether it has the embedded server, and its gateway. */
  readonly network: NetworkRecord;
}

/** Everything a sandbox's files are made from. */
export interface NameFileInputs {
  /** The container id of the sandbox (its owner's, for joiners). */
  readonly containerId: string;
  /** The whole-sandbox mode of the sandbox, if it is one. */
  readonly mode: 'host' | 'none' | undefined;
  /** The sandbox's settings. */
  readonly settings: NameSettings;
  /** Its endpoints, in connection order, each with its network. */
  readonly endpoints: readonly NameFileEndpoint[];
  /** The host's `resolv.conf`, parsed (systemd-resolved's upstream file when the host's is its stub). */
  readonly hostResolvConf: ResolvConf;
  /** The host's own `hosts` text, for `host` mode. */
  readonly hostHosts: string;
  /** The host's hostname, for `host` mode. */
  readonly hostHostname: string;
}

/** The three files' text. */
export function renderNameFiles(inputs: NameFileInputs): NameFileContents {
  if (inputs.mode === 'host') {
    // Docker gives a host-mode container the host's own files, with its extra hosts added.
    return {
      hostname: `${inputs.hostHostname}\n`,
      hosts: appendLines(inputs.hostHosts, extraHostLines(inputs)),
      resolvConf: renderResolvConf(hostResolvers(inputs)),
    };
  }
  const hostname = hostnameOf(inputs.settings, inputs.containerId);
  return {
    hostname: `${hostname}\n`,
    hosts: renderHosts(inputs, hostname),
    ...(inputs.mode === 'none' ? {} : { resolvConf: renderResolvConf(resolvConfFor(inputs)) }),
  };
}

/** The resolvers a container on no network with the embedded server gets, and where that server forwards. */
export function hostResolvers(inputs: Pick<NameFileInputs, 'settings' | 'hostResolvConf'>): ResolvConf {
  const host = inputs.hostResolvConf;
  const reachable = host.nameservers.filter((s) => !isLoopback(s));
  return {
    nameservers: inputs.settings.dns ?? (reachable.length > 0 ? reachable : FALLBACK_NAMESERVERS),
    search: searchOf(inputs.settings, host),
    options: inputs.settings.dnsOptions ?? host.options,
  };
}

/**
 * Where the embedded server forwards a sandbox's other questions: its `dns`
 * setting, else the host's resolvers, loopback ones included (the server
 * runs in the host namespace, which reaches them).
 */
export function upstreamsFor(settings: NameSettings, host: ResolvConf): readonly string[] {
  return settings.dns ?? host.nameservers.filter((s) => !s.includes(':'));
}

function resolvConfFor(inputs: NameFileInputs): ResolvConf {
  const servers = inputs.endpoints.map((e) => embeddedDnsAddress(e.network)).filter((a): a is string => a !== undefined);
  if (servers.length === 0) return hostResolvers(inputs);
  // Docker's embedded-server resolv.conf: the server alone (at most three,
  // one per network that has it), the host's search, `ndots:0` unless given.
  const options = inputs.settings.dnsOptions ?? inputs.hostResolvConf.options;
  return {
    nameservers: [...new Set(servers)].slice(0, 3),
    search: searchOf(inputs.settings, inputs.hostResolvConf),
    options: options.some((o) => o.startsWith('ndots:')) ? options : [...options, 'ndots:0'],
  };
}

function searchOf(settings: NameSettings, host: ResolvConf): readonly string[] {
  const search = settings.dnsSearch ?? host.search;
  return search.length === 1 && search[0] === '.' ? [] : search;
}

/** A `resolv.conf` text. */
export function renderResolvConf(conf: ResolvConf): string {
  const lines = ['# Generated by netmode.'];
  for (const server of conf.nameservers) lines.push(`nameserver ${server}`);
  if (conf.search.length > 0) lines.push(`search ${conf.search.join(' ')}`);
  if (conf.options.length > 0) lines.push(`options ${conf.options.join(' ')}`);
  return `${lines.join('\n')}\n`;
}

const LOCALHOST_LINES = [
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'ff00::0\tip6-mcastprefix',
  'ff02::1\tip6-allnodes',
  'ff02::2\tip6-allrouters',
];

function renderHosts(inputs: NameFileInputs, hostname: string): string {
  const names = inputs.settings.domainname ? `${hostname}.${inputs.settings.domainname} ${hostname}` : hostname;
  const own = inputs.endpoints.flatMap(({ endpoint }) => endpoint.addresses.map((cidr) => `${cidr.split('/')[0]}\t${names}`));
  return `${[...LOCALHOST_LINES, ...extraHostLines(inputs), ...own].join('\n')}\n`;
}

function extraHostLines(inputs: NameFileInputs): string[] {
  return (inputs.settings.extraHosts ?? []).flatMap((entry) => {
    const { name, address } = parseExtraHost(entry);
    const resolved = address === HOST_GATEWAY ? hostGatewayOf(inputs) : address;
    // `none` has no way to the host: connect() refuses host-gateway there, so nothing is lost here.
    return resolved === undefined ? [] : [`${resolved}\t${name}`];
  });
}

/**
 * The host's address as the container sees it (`host-gateway`): 127.0.0.1
 * in `host` mode; the gateway of the endpoint with the default route, else
 * the first gateway of the container's networks; undefined when it has none.
 */
export function hostGatewayOf(inputs: Pick<NameFileInputs, 'endpoints' | 'mode'>): string | undefined {
  if (inputs.mode === 'host') return '127.0.0.1';
  const route = inputs.endpoints.find(({ endpoint }) => endpoint.defaultRoute && endpoint.gateways.length > 0);
  return (
    route?.endpoint.gateways[0] ??
    inputs.endpoints.flatMap(({ network }) => network.subnets.map((s) => s.gateway)).find((g) => g !== undefined)
  );
}

function appendLines(text: string, lines: readonly string[]): string {
  if (lines.length === 0) return text;
  return `${text}${text.endsWith('\n') || text === '' ? '' : '\n'}${lines.join('\n')}\n`;
}
