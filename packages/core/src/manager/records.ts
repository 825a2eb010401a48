import { createHash, randomBytes } from 'node:crypto';
import { ErrorCode, NetModeError } from '../errors.js';
import type { Endpoint } from '../model/endpoint.js';
import type { NetworkRecord, NetworkSpec } from '../model/network.js';
import { isProcessAlive, type ProcessIdentity } from '../store/process-identity.js';

/** A record as stored: the public one plus the process working on it, if any. */
export type Operated<T> = T & {
  /** The process that set a transient status (`attaching`, `detaching`, `creating`, `removing`); a dead one means it crashed. */
  readonly operator?: ProcessIdentity;
};

/** Store key of a network record. */
export const networkKey = (name: string): string => `networks/${name}`;
/** Store key of the endpoint of `containerId` on the network named `network` (state format 2). */
export const endpointKey = (containerId: string, network: string): string => `endpoints/${containerId}/${network}`;
/** Store prefix of every endpoint of `containerId`. */
export const containerEndpointsPrefix = (containerId: string): string => `endpoints/${containerId}`;

/**
 * The id of the endpoint of `containerId` on the network with id
 * `networkId`: the container id, `@` (which no container id holds) and 12
 * hex digits of a hash of the network id. Deterministic, so a crashed attach
 * is found again from the record; different for a network removed and made
 * again under the same name, so nothing of the old one is taken for the new.
 *
 * At most 114 characters, so that `endpoint:ID` fits nft's 128-character
 * comments: a container id longer than 100 is cut to 88 characters, `.` and
 * 12 hex digits of its hash (101 in all, a length no uncut id has).
 */
export function endpointIdFor(containerId: string, networkId: string): string {
  const base = containerId.length <= 100 ? containerId : `${containerId.slice(0, 88)}.${sha256(containerId).slice(0, 12)}`;
  return `${base}@${sha256(networkId).slice(0, 12)}`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A fresh network record for `spec`, status `ready`. */
export function newNetworkRecord(spec: NetworkSpec, predefined: boolean): NetworkRecord {
  return {
    id: randomBytes(32).toString('hex'),
    name: spec.name,
    driver: spec.driver,
    status: 'ready',
    predefined,
    subnets: spec.subnets ?? [],
    internal: spec.internal ?? false,
    dns: !predefined && spec.dns === true,
    options: { ...spec.options },
    labels: { ...spec.labels },
    driverData: {},
    createdAt: new Date().toISOString(),
  };
}

/** The record without its operator, as callers see it. */
export function withoutOperator<T extends object>(record: Operated<T>): T {
  const { operator: _operator, ...rest } = record;
  return rest as T;
}

/** Throws ERR_BUSY when a live process other than this call works on the record. */
export function assertNotBusy(record: Operated<Endpoint | NetworkRecord>, what: string): void {
  if (record.operator && isProcessAlive(record.operator)) {
    throw new NetModeError(ErrorCode.BUSY, `${what} is ${record.status} by process ${record.operator.pid}`, {
      context: { status: record.status, pid: record.operator.pid },
    });
  }
}

/** ERR_NETWORK_NOT_FOUND for `name`. */
export function networkNotFound(name: string): NetModeError {
  return new NetModeError(ErrorCode.NETWORK_NOT_FOUND, `network ${name} not found`, { context: { network: name } });
}

/** ERR_ENDPOINT_NOT_FOUND for `containerId`, or for its endpoint on `network`. */
export function endpointNotFound(containerId: string, network?: string): NetModeError {
  if (network === undefined) {
    return new NetModeError(ErrorCode.ENDPOINT_NOT_FOUND, `container ${containerId} has no endpoint`, { context: { containerId } });
  }
  return new NetModeError(ErrorCode.ENDPOINT_NOT_FOUND, `container ${containerId} is not on network ${network}`, {
    context: { containerId, network },
  });
}
