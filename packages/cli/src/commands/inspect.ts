import { formatNetns, netnsPath, type Endpoint, type Sandbox } from '@netmode/core';
import { formatPort } from '../args/port-spec.js';
import { ExitCode } from '../cli-error.js';
import type { InspectInput } from '../inputs/inspect.js';
import type { Session } from '../session.js';
import { sandboxOf, shortCommand, view } from './container-view.js';

type Row = [string, string];

/** `via GATEWAY dev IFNAME (network NAME)`, or `-`. */
function defaultRouteText(sandbox: Sandbox | undefined): string {
  const route = sandbox?.defaultRoute;
  return route ? `via ${route.gateway} dev ${route.ifname} (network ${route.network})` : '-';
}

/**
 * The rows of a sandbox's names: its hostname, the name settings it was
 * made with (those given), and the files its process sees as /etc/hostname,
 * /etc/hosts and /etc/resolv.conf.
 */
function nameRows(sandbox: Sandbox | undefined): Row[] {
  if (!sandbox) return [['hostname', '-']];
  const names = sandbox.endpoints[0]?.names ?? {};
  const given: [string, string | readonly string[] | undefined][] = [
    ['domainname', names.domainname],
    ['dns', names.dns],
    ['dns search', names.dnsSearch],
    ['dns options', names.dnsOptions],
    ['extra hosts', names.extraHosts],
  ];
  const files = sandbox.files;
  return [
    ['hostname', sandbox.hostname],
    ...given.flatMap(([field, value]): Row[] =>
      value === undefined || value.length === 0 ? [] : [[field, typeof value === 'string' ? value : value.join(', ')]],
    ),
    ['files', files?.directory ?? '-'],
    ...(files
      ? ([
          ['  /etc/hostname', files.hostname],
          ['  /etc/hosts', files.hosts],
          ['  /etc/resolv.conf', files.resolvConf ?? '-'],
        ] as Row[])
      : []),
  ];
}

/** The rows of one endpoint: a `network` row, then its details indented under it. */
function endpointRows(endpoint: Endpoint): Row[] {
  const status = endpoint.status === 'attached' ? '' : `, ${endpoint.status}`;
  return [
    ['network', `${endpoint.network} (driver ${endpoint.driver}${status})`],
    ['  interfaces', endpoint.interfaces.map((i) => `${i.name}@${i.side}`).join(', ') || '-'],
    ['  addresses', endpoint.addresses.join(', ') || '-'],
    ['  gateways', endpoint.gateways.join(', ') || '-'],
    ['  ports', endpoint.ports.map(formatPort).join(', ') || '-'],
    ['  aliases', endpoint.aliases.join(', ') || '-'],
    ['  gw priority', `${endpoint.gwPriority}${endpoint.defaultRoute ? ' (the default route)' : ''}`],
    ...(endpoint.problems ?? []).map((p): Row => ['  problem', p]),
  ];
}

/**
 * `netmode inspect [--json] NAME`: the container, its sandbox and every
 * endpoint. The JSON keys the endpoints by network name, in the order they
 * were connected, as Docker's `NetworkSettings.Networks`.
 */
export async function inspectCommand(session: Session, { options, name }: InspectInput): Promise<number> {
  const record = await session.containers.require(name);
  const sandbox = await sandboxOf(session, name);
  const v = view(session, record, sandbox);
  if (options.json) {
    const { endpoints = [], ...rest } = sandbox ?? {};
    session.out.json({
      ...v,
      sandbox: sandbox ? { ...rest, path: netnsPath(sandbox.netns) } : null,
      endpoints: Object.fromEntries(endpoints.map((e) => [e.network, e])),
    });
    return ExitCode.OK;
  }
  const rows: Row[] = [
    ['name', v.name],
    ['status', v.status],
    ['pid', v.pid === null ? '-' : String(v.pid)],
    ['mode', v.mode],
    ['networks', v.networks.join(', ')],
    ['sandbox', sandbox ? `${formatNetns(sandbox.netns)} (${netnsPath(sandbox.netns)})` : '-'],
    ['default route', defaultRouteText(sandbox)],
    ...nameRows(sandbox),
    ...(sandbox && sandbox.joiners.length > 0 ? [['joined by', sandbox.joiners.join(', ')] as Row] : []),
    ...(sandbox?.endpoints ?? []).flatMap(endpointRows),
    ['command', shortCommand(v.command)],
    ['detached', v.detached ? 'yes' : 'no'],
    ['created', v.createdAt],
    ['started', v.startedAt ?? '-'],
    ['stopped', v.stoppedAt ?? '-'],
    ['remove when stopped', v.autoRemove ? 'yes' : 'no'],
    ['log', v.log ?? '-'],
  ];
  session.out.table(['FIELD', 'VALUE'], rows);
  return ExitCode.OK;
}
