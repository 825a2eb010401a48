import { existsSync } from 'node:fs';
import { isNetModeError, netnsPath, type Endpoint } from '@netmode/core';
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

/** The container's endpoint, or undefined when the SDK has none (any SDK error). */
export async function endpointOf(session: Session, name: string): Promise<Endpoint | undefined> {
  try {
    return await session.netmode.inspectEndpoint(name);
  } catch (error) {
    if (isNetModeError(error)) return undefined;
    throw error;
  }
}

/** A container's record and endpoint, as `ps` and `inspect` show them. */
export function view(session: Session, record: ContainerRecord, endpoint: Endpoint | undefined): ContainerView {
  const status = containerStatus(record);
  const broken = status === 'running' && (endpoint === undefined || endpoint.status === 'broken' || !existsSync(netnsPath(endpoint.netns)));
  return {
    name: record.name,
    status: broken ? 'broken' : status,
    pid: processOf(record)?.pid ?? null,
    mode: record.networks[0] as string,
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

/** A command line in 40 columns, arguments quoted where a shell would need it. */
export function shortCommand(command: readonly string[]): string {
  const text = command.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}
