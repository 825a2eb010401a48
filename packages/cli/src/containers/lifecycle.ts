import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ErrorCode,
  assertObjectName,
  isNetModeError,
  netnsPath,
  type ConnectOptions,
  type Endpoint,
  type NameSettings,
  type PortMapping,
  type Sandbox,
} from '@netmode/core';
import type { NetworkAttachment } from '../args/network-attachment.js';
import { CliError, CliErrorCode } from '../cli-error.js';
import type { Session } from '../session.js';
import { containerStatus, processOf, type ContainerRecord } from './container-store.js';
import { isProcessAlive as isAlive, processStartTime, type ProcessIdentity } from '@netmode/core';
import { OWN_NAMESPACES, enterArgv, isolatedArgv } from './isolation.js';
import { SignalRelay, assertRunnable, runToEnd, startDetached, type Finished } from './spawn.js';
import { START_TOKEN_VARIABLE, newStartToken } from './start-marker.js';

/** What `netmode run` asks for; what `start` connects again (see {@link specOf}). */
export interface RunSpec {
  readonly name?: string;
  /**
   * The networks to connect it to, in this order, each with the options of
   * its endpoint; at least one. See {@link ContainerRecord.networks}.
   */
  readonly networks: readonly NetworkAttachment[];
  /** Ports to publish, on one network: see {@link publishingNetwork}. */
  readonly ports?: readonly PortMapping[];
  /**
   * Its name settings (`--hostname`, `--dns`, `--add-host`, …), given to
   * each connect; the container's name is added as `name`.
   */
  readonly names?: NameSettings;
  readonly command: readonly string[];
  /** `--rm`: see {@link ContainerRecord.autoRemove}. */
  readonly autoRemove?: boolean;
}

/** A container started with `-d`. */
export interface Started {
  readonly record: ContainerRecord;
  /** Its endpoints, one per network, in the order of {@link RunSpec.networks}. */
  readonly endpoints: readonly Endpoint[];
}

/** A container's name from `--name`, or a fresh one like Docker's ids: `c` and 11 hex digits. */
export function containerName(name: string | undefined): string {
  if (name === undefined) return `c${randomBytes(6).toString('hex').slice(0, 11)}`;
  assertObjectName(name, '--name');
  return name;
}

/** The identity of a process just started, or a dead one if it is already gone. */
function identify(pid: number): ProcessIdentity {
  return { pid, start: processStartTime(pid) ?? 'exited' };
}

function self(): ProcessIdentity {
  return identify(process.pid);
}

/** The directory of detached containers' output files. */
export function logDir(session: Session): string {
  return join(resolve(session.globals.stateDir), 'cli', 'logs');
}

/**
 * A detached container's output file: derived from the state directory and
 * the checked name, never read from a record, so a damaged or forged record
 * cannot make `rm` delete another file.
 */
export function logPath(session: Session, name: string): string {
  assertObjectName(name, 'container name');
  return join(logDir(session), `${name}.log`);
}

/**
 * A fault-injection point for the tests: when `NETMODE_CRASH_POINT` names
 * it, this process kills itself with SIGKILL there, as a crash or an
 * operator's `kill -9` would.
 */
function crashPoint(name: string): void {
  if (process.env['NETMODE_CRASH_POINT'] === name) process.kill(process.pid, 'SIGKILL');
}

/** The environment of a container's process: ours, plus its start token. */
function markedEnvironment(token: string): NodeJS.ProcessEnv {
  return { ...process.env, [START_TOKEN_VARIABLE]: token };
}

/** The record of a new container, named by its starter (this process) until its process is recorded. */
function newRecord(name: string, spec: RunSpec, command: string[], detached: boolean): ContainerRecord {
  const { ports, names } = spec;
  return {
    name,
    networks: spec.networks.map((n) => n.name),
    attachments: spec.networks,
    ...(ports && ports.length > 0 ? { ports } : {}),
    ...(names && Object.keys(names).length > 0 ? { names } : {}),
    command,
    detached,
    ...(spec.autoRemove ? { autoRemove: true } : {}),
    createdAt: new Date().toISOString(),
    supervisor: self(),
    startToken: newStartToken(),
    namespaces: OWN_NAMESPACES,
  };
}

/** What `start` connects a stopped container to again: the settings `run` recorded. */
function specOf(record: ContainerRecord): RunSpec {
  return {
    name: record.name,
    networks: record.attachments ?? record.networks.map((name) => ({ name, aliases: [] })),
    command: record.command,
    ...(record.ports ? { ports: record.ports } : {}),
    ...(record.names ? { names: record.names } : {}),
  };
}

/**
 * Connects a new container and starts its process detached (`run -d`): the
 * process is recorded by PID and start time, its output goes to
 * `STATE/cli/logs/NAME.log`, and the endpoint stays until `stop` or `rm`.
 * Until the process is recorded, the record names this `run` as its
 * supervisor (so `gc` leaves it alone) and a start token the process
 * carries (so a `run` killed in between leaves a process that can still be
 * found).
 */
export async function runDetached(session: Session, spec: RunSpec): Promise<Started> {
  const name = containerName(spec.name);
  const command = [...spec.command];
  assertRunnable(command[0] as string);
  const record = newRecord(name, spec, command, true);
  const endpoints = await connectReserved(session, record, spec);
  try {
    return await startProcess(session, record, endpoints);
  } catch (error) {
    await undoReserved(session, name);
    throw error;
  }
}

/**
 * Starts the process of a connected container detached, in the sandbox of
 * `endpoints`, and records it. `record` names this process as its
 * supervisor and carries the start token. A process started but not
 * recorded is killed again (it would be found by nothing); the endpoints
 * are the caller's to undo.
 */
async function startProcess(session: Session, record: ContainerRecord, endpoints: readonly Endpoint[]): Promise<Started> {
  const { name, command } = record;
  let fd: number | undefined;
  let proc: ProcessIdentity | undefined;
  try {
    mkdirSync(logDir(session), { recursive: true, mode: 0o700 });
    fd = openSync(logPath(session, name), 'a', 0o600);
    const argv = isolatedArgv(sandboxPath(endpoints), await session.netmode.inspect(name), command);
    proc = identify(await startDetached(argv, fd, markedEnvironment(record.startToken as string), true));
    crashPoint('after-process-start');
    const started = (await session.containers.update(name, { process: proc, startedAt: new Date().toISOString() })) ?? record;
    return { record: started, endpoints };
  } catch (error) {
    if (proc) signal(proc, 'SIGKILL');
    throw error;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Starts a stopped container again (`netmode start`), detached: connects
 * it to its recorded networks with its recorded settings (a new address
 * unless `--ip` fixed one, the same published host ports), then starts its
 * command. A container that runs already is left as it is (`running`), as
 * Docker does. A connect that fails (ERR_PORT_ALLOCATED: someone took its
 * port meanwhile) undoes the connects made before it and leaves the
 * container stopped; a container that exited by itself, never stopped, has
 * its endpoints released first.
 */
export async function startContainer(session: Session, name: string): Promise<Started | 'running'> {
  const record = await session.containers.require(name);
  if (containerStatus(record) === 'running') return 'running';
  assertRunnable(record.command[0] as string);
  const claimed = await session.containers.claim(name, { supervisor: self(), startToken: newStartToken(), detached: true });
  const spec = specOf(claimed);
  const giveUp = () => session.containers.update(name, { stoppedAt: new Date().toISOString() }, ['supervisor', 'startToken']);
  let endpoints: Endpoint[];
  try {
    if (record.stoppedAt === undefined) await disconnectPatiently(session, name);
    endpoints = await connectAll(session, name, spec);
  } catch (error) {
    await giveUp();
    throw error;
  }
  try {
    return await startProcess(session, claimed, endpoints);
  } catch (error) {
    await disconnectPatiently(session, name).catch(() => {});
    await giveUp();
    throw error;
  }
}

/**
 * Connects a new container, runs its process in the foreground to its end
 * (signals passed on), then disconnects and forgets it. Resolves with the
 * process's exit status and, with `capture`, its output. A signal that
 * arrives while connecting cancels the run (status 128+N) after the
 * endpoint is removed again.
 */
export async function runForeground(session: Session, spec: RunSpec, stdio: 'inherit' | 'capture'): Promise<Finished & { name: string }> {
  const name = containerName(spec.name);
  const command = [...spec.command];
  assertRunnable(command[0] as string);
  const relay = new SignalRelay();
  try {
    const record = newRecord(name, spec, command, false);
    const endpoints = await connectReserved(session, record, spec);
    let finished: Finished;
    let recorded: Promise<unknown> = Promise.resolve();
    try {
      // Its hostname and name files: the sandbox's, which the connects made.
      const sandbox = await session.netmode.inspect(name);
      if (relay.received) throw new Interrupted(relay.received);
      finished = await runToEnd(
        isolatedArgv(sandboxPath(endpoints), sandbox, command),
        stdio,
        (child) => {
          relay.attach(child);
          // Recorded so that ps, exec and stop from another shell can find it.
          recorded = session.containers.update(name, { process: identify(child.pid as number), startedAt: new Date().toISOString() });
        },
        markedEnvironment(record.startToken as string),
        true,
      );
      await recorded;
    } catch (error) {
      await recorded.catch(() => {});
      await undoReserved(session, name);
      throw error;
    }
    try {
      await removeContainer(session, name, { force: true });
    } catch (error) {
      // `rm -f` from another shell may have removed it already.
      if (!(error instanceof CliError && error.code === CliErrorCode.CONTAINER_NOT_FOUND)) {
        session.out.warn(
          `could not disconnect ${name} (${isNetModeError(error) ? `${error.code}: ${error.message}` : String(error)}); run netmode rm -f ${name}`,
        );
      }
    }
    return { ...finished, name };
  } finally {
    relay.close();
  }
}

/** A foreground run cancelled by a signal before its process started. */
export class Interrupted extends Error {
  readonly signal: NodeJS.Signals;
  constructor(signal: NodeJS.Signals) {
    super(`interrupted by ${signal} before the command started; nothing was left behind`);
    this.name = 'Interrupted';
    this.signal = signal;
  }
}

/** The namespace every endpoint of a new container shares: its sandbox. */
function sandboxPath(endpoints: readonly Endpoint[]): string {
  return netnsPath((endpoints[0] as Endpoint).netns);
}

/**
 * The network `-p` publishes on: the first of the container's that is not
 * internal, as Docker does (a sandbox's ports go with the first non-internal
 * endpoint it gets). When all are internal, the first: its driver refuses
 * them, as it does for a container on one internal network.
 */
async function publishingNetwork(session: Session, networks: readonly NetworkAttachment[]): Promise<string> {
  const [first] = networks.map((n) => n.name) as [string, ...string[]];
  if (networks.length === 1) return first;
  for (const { name } of networks) {
    // container:NAME is no network; an unknown name fails at its connect.
    const network = await session.netmode.inspectNetwork(name).catch((error: unknown) => {
      if (isNetModeError(error)) return undefined;
      throw error;
    });
    if (network && !network.internal) return name;
  }
  return first;
}

/**
 * The options of the connect to one network: its own, the ports on the
 * network that publishes them, and the container's name settings (each
 * connect repeats them, as the SDK allows; its name is the container id).
 */
function connectOptions(name: string, network: NetworkAttachment, spec: RunSpec, publishOn: string | undefined): ConnectOptions {
  const { ports } = spec;
  return {
    ...spec.names,
    name,
    ...(ports && ports.length > 0 && network.name === publishOn ? { ports } : {}),
    ...(network.ip === undefined ? {} : { ip: network.ip }),
    ...(network.mac === undefined ? {} : { mac: network.mac }),
    ...(network.aliases.length > 0 ? { aliases: network.aliases } : {}),
    ...(network.gwPriority === undefined ? {} : { gwPriority: network.gwPriority }),
  };
}

/**
 * Records the container, then connects it to each of its networks in turn
 * (see {@link connectAll}); a failure forgets the record again.
 */
async function connectReserved(session: Session, record: ContainerRecord, spec: RunSpec): Promise<Endpoint[]> {
  await session.containers.reserve(record);
  try {
    return await connectAll(session, record.name, spec);
  } catch (error) {
    await session.containers.remove(record.name).catch(() => {});
    throw error;
  }
}

/**
 * Connects a recorded container to each of its networks in turn. A
 * `container:NAME` whose target is a CLI container that is not running is
 * refused first (ERR_CONTAINER_NOT_RUNNING). A failure undoes the connects
 * made so far (and only those: an endpoint someone else made for the same
 * name is not ours).
 */
async function connectAll(session: Session, name: string, spec: RunSpec): Promise<Endpoint[]> {
  await assertTargetsRunning(session, name, spec.networks);
  const endpoints: Endpoint[] = [];
  try {
    const publishOn = spec.ports && spec.ports.length > 0 ? await publishingNetwork(session, spec.networks) : undefined;
    for (const network of spec.networks) {
      const endpoint = await session.out.progress(`connecting ${name} (${network.name})`, () =>
        session.netmode.connect(name, network.name, connectOptions(name, network, spec, publishOn)),
      );
      endpoints.push(endpoint);
    }
    return endpoints;
  } catch (error) {
    try {
      for (const { network } of endpoints.reverse()) await disconnectPatiently(session, name, network);
    } catch (undo) {
      session.out.warn(`could not undo ${name} (${isNetModeError(undo) ? undo.code : String(undo)}); run netmode rm -f ${name}`);
    }
    throw error;
  }
}

/**
 * Refuses, as Docker does, to join (`container:NAME`) a container of this
 * CLI whose process does not run: a stopped one has no network to share, and
 * one that exited by itself still has its endpoints but nothing in them. A
 * target the CLI does not know is the SDK's to find or refuse; joining
 * yourself too.
 */
async function assertTargetsRunning(session: Session, name: string, networks: readonly NetworkAttachment[]): Promise<void> {
  for (const network of networks) {
    if (!network.name.startsWith(CONTAINER_MODE_PREFIX)) continue;
    const target = network.name.slice(CONTAINER_MODE_PREFIX.length);
    if (target === name || target === '') continue;
    const record = await session.containers.get(target).catch(() => undefined);
    if (record && containerStatus(record) !== 'running') {
      throw new CliError(CliErrorCode.CONTAINER_NOT_RUNNING, `cannot join container ${target} (--net ${network.name}): it is not running`);
    }
  }
}

const CONTAINER_MODE_PREFIX = 'container:';

/**
 * Undoes a run whose process never started (or failed to be recorded):
 * disconnects the container from every network, then forgets it. A
 * failure leaves the record, for `rm -f`.
 */
async function undoReserved(session: Session, name: string): Promise<void> {
  try {
    await disconnectPatiently(session, name);
    await session.containers.remove(name);
  } catch (error) {
    session.out.warn(`could not undo ${name} (${isNetModeError(error) ? error.code : String(error)}); run netmode rm -f ${name}`);
  }
}

/**
 * Disconnects from `network`, or from every network, waiting out ERR_BUSY
 * for a few seconds: `rm -f` from one shell and the foreground `run` it
 * ended may both get here at once.
 */
async function disconnectPatiently(session: Session, name: string, network?: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await session.out.progress(`disconnecting ${name}${network === undefined ? '' : ` (${network})`}`, () =>
        session.netmode.disconnect(name, network),
      );
      return;
    } catch (error) {
      if (!isNetModeError(error, ErrorCode.BUSY) || Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

/** Waits until the process is gone or `ms` pass; resolves whether it is gone. */
async function waitGone(identity: ProcessIdentity, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isAlive(identity)) {
    if (Date.now() > deadline) return false;
    await sleep(25);
  }
  return true;
}

/** How a {@link stopContainer} ended the process: it was not running, SIGTERM did, or SIGKILL had to. */
export type Stopped = 'not-running' | 'terminated' | 'killed';

/**
 * Stops a container, as Docker does: its process gets SIGTERM, then
 * SIGKILL after `timeoutMs`; then its endpoints are released (its
 * addresses and published ports are free for others; `start` connects it
 * again) and the record says it is stopped. Only the recorded process is
 * signalled, and only while its start time still matches, so a recycled
 * PID is never hit. A `run --rm` container is removed instead, unless
 * `restart` stops it. Stopping a stopped container does nothing more; one
 * that is being started is refused (ERR_CONTAINER_RUNNING).
 *
 * A container others joined (`container:NAME`) keeps its sandbox for them:
 * the SDK orphans its endpoints, and `start` takes them back with the same
 * addresses (docs/modes.md).
 */
export async function stopContainer(session: Session, name: string, timeoutMs: number, how: { restart?: boolean } = {}): Promise<Stopped> {
  const record = await session.containers.require(name);
  if (containerStatus(record) === 'created') {
    throw new CliError(CliErrorCode.CONTAINER_RUNNING, `container ${name} is being started by pid ${record.supervisor?.pid ?? '?'}`);
  }
  const stopped = await endProcess(session, name, processOf(record), timeoutMs);
  if (record.autoRemove && !how.restart) {
    await removeContainer(session, name, { force: true }).catch((error: unknown) => {
      // Its foreground `run` may have removed it first.
      if (!(error instanceof CliError && error.code === CliErrorCode.CONTAINER_NOT_FOUND)) throw error;
    });
  } else if (record.stoppedAt === undefined) {
    await disconnectPatiently(session, name);
    await session.containers.update(name, { stoppedAt: new Date().toISOString() });
  }
  return stopped;
}

/** SIGTERM, then SIGKILL after `timeoutMs`, to `proc` while it is alive; see {@link stopContainer}. */
async function endProcess(session: Session, name: string, proc: ProcessIdentity | undefined, timeoutMs: number): Promise<Stopped> {
  if (!proc || !isAlive(proc)) return 'not-running';
  signal(proc, 'SIGTERM');
  if (await session.out.progress(`stopping ${name}`, () => waitGone(proc, timeoutMs))) return 'terminated';
  signal(proc, 'SIGKILL');
  if (!(await waitGone(proc, 5000))) throw new CliError(CliErrorCode.CONTAINER_RUNNING, `${name} (pid ${proc.pid}) survived SIGKILL`);
  return 'killed';
}

/**
 * Stops a container and starts it again (`netmode restart`); see
 * {@link stopContainer} and {@link startContainer}. A container that runs
 * in the foreground of a `netmode run` is refused (ERR_CONTAINER_RUNNING):
 * that `run` removes it when its process ends.
 */
export async function restartContainer(session: Session, name: string, timeoutMs: number): Promise<Started | 'running'> {
  const record = await session.containers.require(name);
  if (!record.detached && record.supervisor && isAlive(record.supervisor)) {
    throw new CliError(
      CliErrorCode.CONTAINER_RUNNING,
      `container ${name} runs in the foreground of netmode run (pid ${record.supervisor.pid}), which removes it when it ends`,
    );
  }
  await stopContainer(session, name, timeoutMs, { restart: true });
  return startContainer(session, name);
}

function signal(proc: ProcessIdentity, sig: NodeJS.Signals): void {
  // Checked again right before the kill: the window for a recycled PID is as small as it gets.
  if (!isAlive(proc)) return;
  try {
    process.kill(proc.pid, sig);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/**
 * Removes a container: refuses a running one unless `force` (which kills it
 * with SIGKILL, as `docker rm -f`), disconnects its endpoint, and forgets
 * its record and output file.
 */
export async function removeContainer(session: Session, name: string, options: { force: boolean }): Promise<void> {
  const record = await session.containers.require(name);
  const proc = processOf(record);
  if (proc && isAlive(proc)) {
    if (!options.force) {
      throw new CliError(CliErrorCode.CONTAINER_RUNNING, `container ${name} is running (pid ${proc.pid})`);
    }
    signal(proc, 'SIGKILL');
    if (!(await waitGone(proc, 5000))) {
      throw new CliError(CliErrorCode.CONTAINER_RUNNING, `${name} (pid ${proc.pid}) survived SIGKILL`);
    }
  } else if (containerStatus(record) === 'created' && !options.force) {
    throw new CliError(CliErrorCode.CONTAINER_RUNNING, `container ${name} is being started by pid ${record.supervisor?.pid ?? '?'}`);
  }
  await disconnectPatiently(session, name);
  await session.containers.remove(name);
  rmSync(logPath(session, name), { force: true });
}

/**
 * The sandbox of a running container, whose namespace its process is in.
 * Throws ERR_CONTAINER_NOT_FOUND, ERR_CONTAINER_NOT_RUNNING, or
 * ERR_CONTAINER_BROKEN when the SDK has no sandbox for it any more or its
 * namespace is gone.
 */
export async function runningSandbox(session: Session, name: string): Promise<Sandbox> {
  return (await runningContainer(session, name)).sandbox;
}

/** A running container: its record, its process and its sandbox; see {@link runningSandbox}. */
async function runningContainer(
  session: Session,
  name: string,
): Promise<{ record: ContainerRecord; proc: ProcessIdentity; sandbox: Sandbox }> {
  const record = await session.containers.require(name);
  const proc = processOf(record);
  if (!proc || !isAlive(proc)) throw new CliError(CliErrorCode.CONTAINER_NOT_RUNNING, `container ${name} is not running`);
  const sandbox = await session.netmode.inspect(name).catch((error: unknown) => {
    if (!isNetModeError(error, ErrorCode.ENDPOINT_NOT_FOUND)) throw error;
    throw new CliError(CliErrorCode.CONTAINER_BROKEN, `container ${name} runs (pid ${proc.pid}) but has no network endpoint any more`);
  });
  if (!existsSync(netnsPath(sandbox.netns))) {
    throw new CliError(CliErrorCode.CONTAINER_BROKEN, `the network namespace of container ${name} is gone (${netnsPath(sandbox.netns)})`);
  }
  return { record, proc, sandbox };
}

/**
 * Runs a command in a running container's namespaces, in the foreground,
 * and resolves with its exit status: its sandbox's network namespace, and
 * the mount and UTS namespaces of its recorded process (so the command
 * sees the container's /etc/hosts, /etc/resolv.conf, /sys and hostname).
 * A container started before it had namespaces of its own is entered by
 * its network namespace alone.
 */
export async function execInContainer(
  session: Session,
  name: string,
  command: readonly string[],
  stdio: 'inherit' | 'capture',
): Promise<Finished> {
  // The sandbox's network namespace, not /proc/PID/ns/net: a name, not a PID
  // that could be recycled. The others are only the process's own.
  const { record, proc, sandbox } = await runningContainer(session, name);
  assertRunnable(command[0] as string);
  // Checked again right before /proc/PID is read: the window for a recycled PID is as small as it gets.
  if (!isAlive(proc)) throw new CliError(CliErrorCode.CONTAINER_NOT_RUNNING, `container ${name} is not running`);
  const argv = enterArgv(netnsPath(sandbox.netns), proc.pid, record.namespaces ?? [], command);
  const relay = new SignalRelay();
  try {
    return await runToEnd(argv, stdio, (child) => relay.attach(child));
  } finally {
    relay.close();
  }
}
