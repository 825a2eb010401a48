import { existsSync } from 'node:fs';
import { errorMessage, formatNetns, isNetModeError, netnsPath, type Endpoint } from '@netmode/core';
import { parsePortSpec, formatPort } from '../args/port-spec.js';
import { parseSubcommand, splitAtCommand, stringList, stringOption, type OptionTable } from '../args/subcommand.js';
import { CliError, CliErrorCode, describeFailure, usage, ExitCode } from '../cli-error.js';
import { containerStatus, processOf, type ContainerRecord, type ContainerStatus } from '../containers/container-store.js';
import { execInContainer, logPath, removeContainer, runDetached, runForeground, stopContainer } from '../containers/lifecycle.js';
import type { Session } from '../session.js';
import { helpFor } from './help.js';

export const RUN_OPTIONS: OptionTable = {
  name: { type: 'string' },
  net: { type: 'string' },
  network: { type: 'string' },
  publish: { type: 'string', short: 'p', multiple: true },
  ip: { type: 'string' },
  'mac-address': { type: 'string' },
  detach: { type: 'boolean', short: 'd' },
  help: { type: 'boolean', short: 'h' },
};

/** `netmode run [OPTIONS] [--] CMD [ARGS...]` */
export async function runCommand(session: Session, args: readonly string[]): Promise<number> {
  const { own, command } = splitAtCommand(args, RUN_OPTIONS);
  const { values, positionals } = parseSubcommand('run', own, RUN_OPTIONS);
  if (values['help']) return help(session, 'run');
  if (positionals.length > 0) throw usage(`netmode run: unexpected argument ${positionals[0]}`);
  if (command.length === 0) throw usage('netmode run: give the command to run, e.g. netmode run --net none -- ip addr');
  const net = stringOption(values, 'net');
  const network = stringOption(values, 'network');
  if (net !== undefined && network !== undefined && net !== network) throw usage('netmode run: --net and --network name different networks');
  const ports = stringList(values, 'publish').map(parsePortSpec);
  const ip = stringOption(values, 'ip');
  const mac = stringOption(values, 'mac-address');
  const name = stringOption(values, 'name');
  const spec = {
    mode: net ?? network ?? 'bridge',
    command,
    ports,
    ...(name === undefined ? {} : { name }),
    ...(ip === undefined ? {} : { ip }),
    ...(mac === undefined ? {} : { mac }),
  };
  if (values['detach']) {
    const { record } = await runDetached(session, spec);
    session.out.line(record.name);
    return ExitCode.OK;
  }
  return (await runForeground(session, spec, 'inherit')).exitCode;
}

/** `netmode exec NAME [--] CMD [ARGS...]` */
export async function execCommand(session: Session, args: readonly string[]): Promise<number> {
  const options: OptionTable = { help: { type: 'boolean', short: 'h' } };
  const { own, command } = splitAtCommand(args, options);
  const { values } = parseSubcommand('exec', own, options);
  if (values['help']) return help(session, 'exec');
  const [name, ...rest] = command;
  if (name === undefined) throw usage('netmode exec: give a container name and a command');
  const cmd = rest[0] === '--' ? rest.slice(1) : rest;
  if (cmd.length === 0) throw usage(`netmode exec: give the command to run in ${name}`);
  return (await execInContainer(session, name, cmd, 'inherit')).exitCode;
}

/**
 * A container's status as `ps` and `inspect` show it: its life stage, or
 * `broken` when its process runs but its network is gone or marked broken.
 */
export type ContainerViewStatus = ContainerStatus | 'broken';

/** One container as `ps` and `inspect` report it. */
export interface ContainerView {
  readonly name: string;
  readonly status: ContainerViewStatus;
  readonly pid: number | null;
  readonly mode: string;
  readonly network: string | null;
  readonly addresses: readonly string[];
  readonly ports: Endpoint['ports'];
  readonly command: readonly string[];
  readonly detached: boolean;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly log: string | null;
}

async function endpointOf(session: Session, name: string): Promise<Endpoint | undefined> {
  try {
    return await session.netmode.inspect(name);
  } catch (error) {
    if (isNetModeError(error)) return undefined;
    throw error;
  }
}

function view(session: Session, record: ContainerRecord, endpoint: Endpoint | undefined): ContainerView {
  const status = containerStatus(record);
  const broken = status === 'running' && (endpoint === undefined || endpoint.status === 'broken' || !existsSync(netnsPath(endpoint.netns)));
  return {
    name: record.name,
    status: broken ? 'broken' : status,
    pid: processOf(record)?.pid ?? null,
    mode: record.mode,
    network: endpoint?.network ?? null,
    addresses: endpoint?.addresses ?? [],
    ports: endpoint?.ports ?? [],
    command: record.command,
    detached: record.detached,
    createdAt: record.createdAt,
    startedAt: record.startedAt ?? null,
    log: record.detached ? logPath(session, record.name) : null,
  };
}

function ago(iso: string): string {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86400)}d ago`;
}

function shortCommand(command: readonly string[]): string {
  const text = command.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}

/** `netmode ps [--json]` */
export async function psCommand(session: Session, args: readonly string[]): Promise<number> {
  const { values, positionals } = parseSubcommand('ps', args, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (values['help']) return help(session, 'ps');
  if (positionals.length > 0) throw usage(`netmode ps: unexpected argument ${positionals[0]}`);
  const views: ContainerView[] = [];
  const { records, corrupt } = await session.containers.list();
  for (const record of records) views.push(view(session, record, await endpointOf(session, record.name)));
  // A damaged record hides nothing else; say which file it is.
  for (const { error } of corrupt) session.out.note(`${error.code}: ${error.message}`);
  if (values['json']) {
    session.out.json(views);
    return ExitCode.OK;
  }
  session.out.table(
    ['NAME', 'STATUS', 'PID', 'NETWORK', 'ADDRESS', 'PORTS', 'COMMAND', 'CREATED'],
    views.map((v) => [
      v.name,
      v.status,
      v.pid === null ? '-' : String(v.pid),
      v.mode,
      v.addresses.join(',') || '-',
      v.ports.map(formatPort).join(', ') || '-',
      shortCommand(v.command),
      ago(v.createdAt),
    ]),
  );
  return ExitCode.OK;
}

/** `netmode inspect NAME [--json]` */
export async function inspectCommand(session: Session, args: readonly string[]): Promise<number> {
  const { values, positionals } = parseSubcommand('inspect', args, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (values['help']) return help(session, 'inspect');
  if (positionals.length !== 1) throw usage('netmode inspect: give exactly one container name');
  const name = positionals[0] as string;
  const record = await session.containers.require(name);
  const endpoint = await endpointOf(session, name);
  const v = view(session, record, endpoint);
  if (values['json']) {
    session.out.json({ ...v, endpoint: endpoint ?? null });
    return ExitCode.OK;
  }
  const rows: [string, string][] = [
    ['name', v.name],
    ['status', v.status],
    ['pid', v.pid === null ? '-' : String(v.pid)],
    ['mode', v.mode],
    ['network', v.network ?? '-'],
    ['driver', endpoint?.driver ?? '-'],
    ['sandbox', endpoint ? `${formatNetns(endpoint.netns)} (${netnsPath(endpoint.netns)})` : '-'],
    ['addresses', v.addresses.join(', ') || '-'],
    ['gateways', endpoint?.gateways.join(', ') || '-'],
    ['interfaces', endpoint?.interfaces.map((i) => `${i.name}@${i.side}`).join(', ') || '-'],
    ['ports', v.ports.map(formatPort).join(', ') || '-'],
    ['command', shortCommand(v.command)],
    ['detached', v.detached ? 'yes' : 'no'],
    ['created', v.createdAt],
    ['started', v.startedAt ?? '-'],
    ['log', v.log ?? '-'],
  ];
  session.out.table(['FIELD', 'VALUE'], rows);
  return ExitCode.OK;
}

/** `netmode stop [-t SECONDS] NAME...` */
export async function stopCommand(session: Session, args: readonly string[]): Promise<number> {
  const { values, positionals } = parseSubcommand('stop', args, {
    time: { type: 'string', short: 't' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values['help']) return help(session, 'stop');
  if (positionals.length === 0) throw usage('netmode stop: give at least one container name');
  const time = stringOption(values, 'time') ?? '10';
  if (!/^[0-9]+$/.test(time)) throw usage(`netmode stop: -t ${JSON.stringify(time)} must be a whole number of seconds`);
  return eachName(session, positionals, async (name) => {
    await stopContainer(session, name, Number(time) * 1000);
  });
}

/** `netmode rm [-f] NAME...` */
export async function rmCommand(session: Session, args: readonly string[]): Promise<number> {
  const { values, positionals } = parseSubcommand('rm', args, {
    force: { type: 'boolean', short: 'f' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values['help']) return help(session, 'rm');
  if (positionals.length === 0) throw usage('netmode rm: give at least one container name');
  return eachName(session, positionals, (name) => removeContainer(session, name, { force: values['force'] === true }));
}

/**
 * `netmode gc`: removes every exited container (disconnects it and forgets
 * it), then runs the SDK's garbage collection. Containers being started by a
 * live `run` are left alone, a container that starts running meanwhile is
 * skipped, and one failure never stops the rest.
 */
export async function gcCommand(session: Session, args: readonly string[]): Promise<number> {
  const { values, positionals } = parseSubcommand('gc', args, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (values['help']) return help(session, 'gc');
  if (positionals.length > 0) throw usage(`netmode gc: unexpected argument ${positionals[0]}`);
  // Taken before the listing: an endpoint made after it cannot be in the list.
  const listedAt = new Date();
  const { records, corrupt } = await session.containers.list();
  const pruned: string[] = [];
  const failures = corrupt.map(({ error }) => error.message);
  const kept: string[] = corrupt.map(({ key }) => key.slice('cli/containers/'.length));
  for (const record of records) {
    const status = containerStatus(record);
    if (status !== 'exited') {
      kept.push(record.name);
      // A process whose starter died before recording it: record it now.
      const found = record.process ? undefined : processOf(record);
      if (found) await session.containers.update(record.name, { process: found });
      continue;
    }
    try {
      await removeContainer(session, record.name, { force: false });
      pruned.push(record.name);
    } catch (error) {
      kept.push(record.name);
      // Started meanwhile: it is no longer gc's to remove.
      if (error instanceof CliError && error.code === CliErrorCode.CONTAINER_RUNNING) continue;
      failures.push(`${record.name}: ${errorMessage(error)}`);
    }
  }
  // Then the SDK's garbage collection: every endpoint no container of this
  // state directory owns, and stray objects of this instance.
  const report = await session.netmode.gc(kept, { listedAt });
  failures.push(...report.failures);
  if (values['json']) {
    session.out.json({ pruned, ...report, failures });
  } else {
    for (const name of pruned) session.out.line(name);
    for (const name of report.disconnected) session.out.line(name);
    for (const object of report.removedObjects) session.out.line(`removed ${object}`);
    for (const failure of failures) session.out.note(`could not: ${failure}`);
  }
  return failures.length > 0 ? ExitCode.FAILED : ExitCode.OK;
}

/** `netmode reconcile [--json]`: repair after a crash, a reboot or a flushed firewall. */
export async function reconcileCommand(session: Session, args: readonly string[]): Promise<number> {
  const { values, positionals } = parseSubcommand('reconcile', args, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (values['help']) return help(session, 'reconcile');
  if (positionals.length > 0) throw usage(`netmode reconcile: unexpected argument ${positionals[0]}`);
  const report = await session.netmode.reconcile();
  if (values['json']) {
    session.out.json(report);
  } else {
    const lines: [string, readonly string[]][] = [
      ['finished', report.finished],
      ['lost', report.lost],
      ['broken', report.broken],
      ['repaired', report.repaired],
    ];
    for (const [what, names] of lines) if (names.length > 0) session.out.line(`${what}: ${names.join(' ')}`);
    session.out.line(`released leases: ${report.releasedLeases}`);
    for (const failure of report.failures) session.out.note(`could not: ${failure}`);
  }
  return report.failures.length > 0 ? ExitCode.FAILED : ExitCode.OK;
}

/**
 * Applies `work` to every name, as Docker does: a failure is reported and
 * the rest are still done; the status is that of the last failure.
 */
export async function eachName(session: Session, names: readonly string[], work: (name: string) => Promise<unknown>): Promise<number> {
  if (names.length === 1) {
    await work(names[0] as string);
    session.out.line(names[0]);
    return ExitCode.OK;
  }
  let status: number = ExitCode.OK;
  for (const name of names) {
    try {
      await work(name);
      session.out.line(name);
    } catch (error) {
      const failure = describeFailure(error);
      session.out.note(`${failure.code}: ${failure.message}`);
      if (failure.hint) session.out.note(`  hint: ${failure.hint}`);
      status = failure.exitCode;
    }
  }
  return status;
}

function help(session: Session, command: string): number {
  session.out.line(helpFor(command));
  return ExitCode.OK;
}
