// What `netmode run` takes, its options and operands, and the input its handler gets.
import type { NameSettings } from '@netmode/core';
import { parseGwPriority } from '../args/gw-priority.js';
import { parseNetworkAttachment, type NetworkAttachment } from '../args/network-attachment.js';
import { usage } from '../cli-error.js';
import { parsePortSpec } from '../args/port-spec.js';
import type { CommandInput } from '../registry/command-spec.js';
import type { OperandSpec } from '../registry/operand-spec.js';
import type { OptionSpecs, OptionValues } from '../registry/option-spec.js';

export const options = {
  name: { type: 'string', arg: 'NAME', help: "the container's name (default: c + 11 hex digits)" },
  net: {
    type: 'string',
    arg: 'NETWORK',
    aliases: ['network'],
    multiple: true,
    parse: parseNetworkAttachment,
    help: `a network: bridge (default), host, none, container:NAME or a network's name,
or with options of its own: name=NETWORK,alias=NAME,ip=ADDRESS,mac-address=MAC,
gw-priority=N (Docker's syntax); the container is on each one given, and the
first is its mode`,
  },
  publish: {
    type: 'string',
    short: 'p',
    arg: 'SPEC',
    multiple: true,
    parse: parsePortSpec,
    help: `publish a port: [hostIp:][hostPort[-end]:]containerPort[-end][/tcp|/udp]
(containerPort alone picks an ephemeral host port) on the container's
first network that is not internal`,
  },
  ip: { type: 'string', arg: 'ADDRESS', help: 'a static address on the first network' },
  'mac-address': { type: 'string', arg: 'MAC', help: 'a static MAC address on the first network' },
  'network-alias': {
    type: 'string',
    arg: 'NAME',
    aliases: ['alias'],
    multiple: true,
    help: 'another name of the container on the first network',
  },
  'gw-priority': {
    type: 'string',
    arg: 'N',
    parse: parseGwPriority,
    help: "the first network's gateway priority: the default route goes through\nthe network with the highest (default 0; ties: the first connected)",
  },
  hostname: {
    type: 'string',
    arg: 'NAME',
    help: "the container's hostname, in its /etc/hostname and /etc/hosts\n(default: its name)",
  },
  domainname: { type: 'string', arg: 'DOMAIN', help: "the container's domain: /etc/hosts names it HOSTNAME.DOMAIN too" },
  dns: {
    type: 'string',
    arg: 'IP',
    multiple: true,
    help: `a resolver (IPv4): where the embedded DNS server of a user-defined network
forwards the container's other questions, or a nameserver line of its
/etc/resolv.conf (default: the host's)`,
  },
  'dns-search': {
    type: 'string',
    arg: 'DOMAIN',
    multiple: true,
    help: "a search domain of its /etc/resolv.conf (default: the host's; . for none)",
  },
  'dns-option': {
    type: 'string',
    arg: 'OPTION',
    aliases: ['dns-opt'],
    multiple: true,
    help: "a resolver option of its /etc/resolv.conf, such as ndots:2 (default: the host's)",
  },
  'add-host': {
    type: 'string',
    arg: 'NAME:IP',
    multiple: true,
    help: "a line of its /etc/hosts; IP may be host-gateway, the host's address\non the container's network",
  },
  detach: { type: 'boolean', short: 'd', help: 'run in the background and print the name' },
  rm: {
    type: 'boolean',
    help: `remove the container (its record, log and name files) when netmode stop
ends it, rather than keep it stopped for netmode start; with -d, one whose
command ends by itself shows exited until netmode stop, rm or gc (no netmode
process watches it)`,
  },
} as const satisfies OptionSpecs;

export const operands = { kind: 'command', example: 'netmode run --net none -- ip addr' } as const satisfies OperandSpec;

/** What `run`'s handler gets. */
export type RunInput = CommandInput<typeof options, typeof operands>;

/**
 * The networks `run` connects, in order: its `--net` values (`bridge` when
 * none), the first with `--ip`, `--mac-address`, `--network-alias` and
 * `--gw-priority`, as Docker's. Pure: a usage error for a network given
 * twice, or for one of those flags beside the same option in the first
 * `--net`'s own syntax (Docker's "conflicting options"). The declaration's
 * check runs it before the handler, which runs it again to build the run.
 */
export function runNetworks(values: OptionValues<typeof options>): NetworkAttachment[] {
  const [first = { name: 'bridge', aliases: [] }, ...rest] = values.net;
  const seen = new Set<string>();
  for (const { name } of [first, ...rest]) {
    if (seen.has(name)) throw usage(`netmode run: network ${JSON.stringify(name)} is given more than once`);
    seen.add(name);
  }
  const conflict = (flag: string, key: string) =>
    usage(`netmode run: ${flag} and ${key}= in --net ${first.name} set one option of the first network; give one of them`);
  const { ip } = values;
  const mac = values['mac-address'];
  const aliases = values['network-alias'];
  const gwPriority = values['gw-priority'];
  if (ip !== undefined && first.ip !== undefined) throw conflict('--ip', 'ip');
  if (mac !== undefined && first.mac !== undefined) throw conflict('--mac-address', 'mac-address');
  if (aliases.length > 0 && first.aliases.length > 0) throw conflict('--network-alias', 'alias');
  if (gwPriority !== undefined && first.gwPriority !== undefined) throw conflict('--gw-priority', 'gw-priority');
  const merged: NetworkAttachment = {
    ...first,
    aliases: [...first.aliases, ...aliases],
    ...(ip === undefined ? {} : { ip }),
    ...(mac === undefined ? {} : { mac }),
    ...(gwPriority === undefined ? {} : { gwPriority }),
  };
  return [merged, ...rest];
}

/**
 * The container's name settings from `run`'s flags, as the SDK's
 * `ConnectOptions` name them; the flags left out stay out (the SDK's
 * defaults, the host's resolvers among them). Only collected here: the SDK
 * checks the values before it changes anything.
 */
export function runNameSettings(values: OptionValues<typeof options>): NameSettings {
  const lists = {
    dns: values.dns,
    dnsSearch: values['dns-search'],
    dnsOptions: values['dns-option'],
    extraHosts: values['add-host'],
  };
  return {
    ...(values.hostname === undefined ? {} : { hostname: values.hostname }),
    ...(values.domainname === undefined ? {} : { domainname: values.domainname }),
    ...Object.fromEntries(Object.entries(lists).filter(([, list]) => list.length > 0)),
  };
}
