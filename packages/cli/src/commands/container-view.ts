import { existsSync } from 'node:fs';
import { isNetModeError, netnsPath, type PortMapping, type Sandbox } from '@netmode/core';
import { containerStatus, processOf, type ContainerRecord, type ContainerStatus } from '../containers/container-store.js';
import { logPath } from '../containers/lifecycle.js';
import type { Session } from '../session.js';

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
  /** The first network `run` was given: the container's mode. */
  readonly mode: string;
  /**
   * The networks it is on, in the order they were connected
   * (`container:NAME` for a sandbox it joined); when the SDK has no sandbox
   * for it (stopped), those `start` connects it to.
   */
  readonly networks: readonly string[];
  /** Every address on every network, in the order of {@link networks}. */
  readonly addresses: readonly string[];
  /** Every published port, on whichever network publishes it. */
  readonly ports: readonly PortMapping[];
  readonly command: readonly string[];
  readonly detached: boolean;
  readonly createdAt: string;
  readonly startedAt: string | null;
  /** When `stop` ended it and released its endpoints; null while it runs, and for one that exited by itself. */
  readonly stoppedAt: string | null;
  /** `run --rm`: removed when it stops. */
  readonly autoRemove: boolean;
  readonly log: string | null;
}

/** The container's sandbox, or undefined when the SDK has none (any SDK error). */
export async function sandboxOf(session: Session, name: string): Promise<Sandbox | undefined> {
  try {
    return await session.netmode.inspect(name);
  } catch (error) {
    if (isNetModeError(error)) return undefined;
    throw error;
  }
}

/** The networks of a sandbox as `run --net` names them: `container:NAME` for one it joined. */
export function networkNames(sandbox: Sandbox): string[] {
  return sandbox.joinedTo === undefined ? sandbox.endpoints.map((e) => e.network) : [`container:${sandbox.joinedTo}`];
}

/** A container's record and sandbox, as `ps` and `inspect` show them. */
export function view(session: Session, record: ContainerRecord, sandbox: Sandbox | undefined): ContainerView {
  const status = containerStatus(record);
  const broken =
    status === 'running' &&
    (sandbox === undefined || sandbox.endpoints.some((e) => e.status === 'broken') || !existsSync(netnsPath(sandbox.netns)));
  return {
    name: record.name,
    status: broken ? 'broken' : status,
    pid: processOf(record)?.pid ?? null,
    mode: record.networks[0] as string,
    networks: sandbox ? networkNames(sandbox) : (record.attachments?.map((a) => a.name) ?? record.networks),
    addresses: sandbox?.endpoints.flatMap((e) => e.addresses) ?? [],
    ports: sandbox?.endpoints.flatMap((e) => e.ports) ?? [],
    command: record.command,
    detached: record.detached,
    createdAt: record.createdAt,
    startedAt: record.startedAt ?? null,
    stoppedAt: record.stoppedAt ?? null,
    autoRemove: record.autoRemove === true,
    log: record.detached ? logPath(session, record.name) : null,
  };
}

/** A command line in 40 columns, arguments quoted where a shell would need it. */
export function shortCommand(command: readonly string[]): string {
  const text = command.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}
