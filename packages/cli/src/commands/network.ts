import type { NetworkRecord, NetworkSpec, SubnetConfig } from '@netmode/core';
import { parseSubcommand, stringList, stringOption } from '../args/subcommand.js';
import { ExitCode, usage } from '../cli-error.js';
import type { Session } from '../session.js';
import { eachName } from './containers.js';
import { helpFor } from './help.js';

// Docker's names for the bridge driver's options, so that `-o` lines copied
// from docker work unchanged.
const DOCKER_OPTION_NAMES: Readonly<Record<string, string>> = {
  'com.docker.network.bridge.name': 'bridgeName',
  'com.docker.network.driver.mtu': 'mtu',
  'com.docker.network.bridge.enable_icc': 'icc',
  'com.docker.network.bridge.enable_ip_masquerade': 'ipMasq',
};

/**
 * Parses `-o key=value` into a driver option: `true`/`false` become
 * booleans and whole numbers become numbers; the driver checks the rest.
 */
export function parseDriverOption(text: string): [string, unknown] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw usage(`netmode network create: -o ${JSON.stringify(text)} must be key=value`);
  const key = text.slice(0, eq);
  const raw = text.slice(eq + 1);
  const value = raw === 'true' ? true : raw === 'false' ? false : /^[0-9]+$/.test(raw) ? Number(raw) : raw;
  return [DOCKER_OPTION_NAMES[key] ?? key, value];
}

/** `netmode network SUBCOMMAND …` */
export async function networkCommand(session: Session, args: readonly string[]): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'create':
      return create(session, rest);
    case 'ls':
    case 'list':
      return list(session, rest);
    case 'inspect':
      return inspect(session, rest);
    case 'rm':
    case 'remove':
      return remove(session, rest);
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      session.out.line(helpFor('network'));
      return sub === undefined ? ExitCode.USAGE : ExitCode.OK;
    default:
      throw usage(`netmode network: unknown subcommand ${JSON.stringify(sub)} (create, ls, inspect, rm)`);
  }
}

async function create(session: Session, args: readonly string[]): Promise<number> {
  const { values, positionals } = parseSubcommand('network create', args, {
    driver: { type: 'string', short: 'd' },
    subnet: { type: 'string' },
    gateway: { type: 'string' },
    'ip-range': { type: 'string' },
    internal: { type: 'boolean' },
    opt: { type: 'string', short: 'o', multiple: true },
    help: { type: 'boolean', short: 'h' },
  });
  if (values['help']) {
    session.out.line(helpFor('network create'));
    return ExitCode.OK;
  }
  if (positionals.length !== 1) throw usage('netmode network create: give exactly one network name');
  const subnet = stringOption(values, 'subnet');
  const gateway = stringOption(values, 'gateway');
  const ipRange = stringOption(values, 'ip-range');
  if (subnet === undefined && (gateway !== undefined || ipRange !== undefined)) {
    throw usage('netmode network create: --gateway and --ip-range need --subnet');
  }
  const subnets: SubnetConfig[] | undefined =
    subnet === undefined
      ? undefined
      : [{ subnet, ...(gateway === undefined ? {} : { gateway }), ...(ipRange === undefined ? {} : { ipRange }) }];
  const spec: NetworkSpec = {
    name: positionals[0] as string,
    driver: stringOption(values, 'driver') ?? 'bridge',
    ...(subnets ? { subnets } : {}),
    ...(values['internal'] ? { internal: true } : {}),
    options: Object.fromEntries(stringList(values, 'opt').map(parseDriverOption)),
  };
  const netmode = session.netmode;
  const network = await session.out.progress(`creating network ${spec.name}`, () => netmode.createNetwork(spec));
  session.out.line(network.name);
  return ExitCode.OK;
}

function subnetText(network: NetworkRecord): string {
  return network.subnets.map((s) => s.subnet).join(',') || '-';
}

async function list(session: Session, args: readonly string[]): Promise<number> {
  const { values, positionals } = parseSubcommand('network ls', args, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (values['help']) {
    session.out.line(helpFor('network ls'));
    return ExitCode.OK;
  }
  if (positionals.length > 0) throw usage(`netmode network ls: unexpected argument ${positionals[0]}`);
  const networks = await session.netmode.listNetworks();
  if (values['json']) {
    session.out.json(networks);
    return ExitCode.OK;
  }
  session.out.table(
    ['NETWORK ID', 'NAME', 'DRIVER', 'SUBNET', 'GATEWAY', 'FLAGS'],
    networks.map((n) => [
      n.id.slice(0, 12),
      n.name,
      n.driver,
      subnetText(n),
      n.subnets.map((s) => s.gateway ?? '').filter(Boolean).join(',') || '-',
      [n.predefined ? 'predefined' : '', n.internal ? 'internal' : '', n.status === 'ready' ? '' : n.status].filter(Boolean).join(',') || '-',
    ]),
  );
  return ExitCode.OK;
}

async function inspect(session: Session, args: readonly string[]): Promise<number> {
  const { values, positionals } = parseSubcommand('network inspect', args, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (values['help']) {
    session.out.line(helpFor('network inspect'));
    return ExitCode.OK;
  }
  if (positionals.length !== 1) throw usage('netmode network inspect: give exactly one network name');
  const netmode = session.netmode;
  const network = await netmode.inspectNetwork(positionals[0] as string);
  const containers = (await netmode.list())
    .filter((e) => e.networkId === network.id)
    .map((e) => ({ name: e.containerId, status: e.status, addresses: e.addresses }));
  if (values['json']) {
    session.out.json({ ...network, containers });
    return ExitCode.OK;
  }
  const rows: [string, string][] = [
    ['name', network.name],
    ['id', network.id],
    ['driver', network.driver],
    ['status', network.status],
    ['predefined', network.predefined ? 'yes' : 'no'],
    ['internal', network.internal ? 'yes' : 'no'],
    ['subnet', subnetText(network)],
    ['gateway', network.subnets.map((s) => s.gateway ?? '-').join(',') || '-'],
    ['ip range', network.subnets.map((s) => s.ipRange ?? '-').join(',') || '-'],
    ...Object.entries(network.options).map(([k, v]): [string, string] => [`option ${k}`, String(v)]),
    ['created', network.createdAt],
    ['containers', containers.map((c) => `${c.name} ${c.addresses.join(',') || ''}`.trim()).join('; ') || '-'],
  ];
  session.out.table(['FIELD', 'VALUE'], rows);
  return ExitCode.OK;
}

async function remove(session: Session, args: readonly string[]): Promise<number> {
  const { values, positionals } = parseSubcommand('network rm', args, { help: { type: 'boolean', short: 'h' } });
  if (values['help']) {
    session.out.line(helpFor('network rm'));
    return ExitCode.OK;
  }
  if (positionals.length === 0) throw usage('netmode network rm: give at least one network name');
  const netmode = session.netmode;
  return eachName(session, positionals, async (name) => {
    // The SDK's removal is idempotent; at the shell a name that names nothing is an error, as in Docker.
    await netmode.inspectNetwork(name);
    await session.out.progress(`removing network ${name}`, () => netmode.removeNetwork(name));
  });
}
