import type { Endpoint } from '../model/endpoint.js';
import type { NetworkRecord } from '../model/network.js';
import { checkListing, checkRecord, type CheckedListing } from '../store/record-schema.js';
import type { StateStore } from '../store/state-store.js';
import type { ProcessIdentity } from '../store/process-identity.js';
import { ENDPOINT_RECORD, JOINERS_RECORD, NETWORK_RECORD } from './record-kinds.js';
import { containerEndpointsPrefix, endpointKey, networkKey, type Operated } from './records.js';

/**
 * Typed reads of the manager's records: every record is checked against its
 * schema, a single read of a bad one throws ERR_STATE_CORRUPT naming its file,
 * and a listing returns the bad ones apart so the good ones can still be worked on.
 *
 * @module
 */

/** An endpoint record as stored: the public one, its operator, and a maintenance hold. */
export type StoredEndpoint = Operated<Endpoint> & {
  /**
   * The `reconcile()` that is checking or repairing the endpoint right now.
   * Live operations wait while a live process holds it; a dead holder is ignored.
   */
  readonly hold?: ProcessIdentity;
};

/** A network record as stored: the public one and its operator. */
export type StoredNetwork = Operated<NetworkRecord>;

/** What the manager reads from: the store itself (unlocked) or an open transaction. */
export type Reader = Pick<StateStore, 'get' | 'list' | 'locate'>;

/** An endpoint record as the schema accepts it: the fields state format 2 added may be missing. */
type ReadEndpoint = ReturnType<typeof checkRecord<typeof ENDPOINT_RECORD.schema>>;

/** A record read from the store, with the defaults of the fields format 2 added. */
export function withDefaults(record: ReadEndpoint): StoredEndpoint {
  return {
    ...record,
    gwPriority: record.gwPriority ?? 0,
    defaultRoute: record.defaultRoute ?? record.gateways.length > 0,
    aliases: record.aliases ?? [],
    names: record.names ?? {},
  };
}

/** A network record as the schema accepts it: `dns` may be missing. */
type ReadNetwork = ReturnType<typeof checkRecord<typeof NETWORK_RECORD.schema>>;

/** A network record read from the store, with the default of `dns`. */
function networkWithDefaults(record: ReadNetwork): StoredNetwork {
  return { ...record, dns: record.dns ?? false };
}

/** The stored endpoint of `containerId` on the network named `network`, or undefined. @throws ERR_STATE_CORRUPT */
export async function getEndpoint(reader: Reader, containerId: string, network: string): Promise<StoredEndpoint | undefined> {
  const key = endpointKey(containerId, network);
  const value = await reader.get<unknown>(key);
  return value === undefined ? undefined : withDefaults(checkRecord(ENDPOINT_RECORD, key, value, reader));
}

/**
 * Every stored endpoint of `containerId`, in the order they were connected.
 *
 * @throws ERR_STATE_CORRUPT when one of them cannot be read: the container's
 * sandbox cannot be worked on without knowing all of it.
 */
export async function containerEndpoints(reader: Reader, containerId: string): Promise<StoredEndpoint[]> {
  const { records, corrupt } = checkListing(ENDPOINT_RECORD, await reader.list<unknown>(containerEndpointsPrefix(containerId)), reader);
  if (corrupt[0]) throw corrupt[0].error.withContext({ containerId });
  return records.map((r) => withDefaults(r.value)).sort(byConnection);
}

/** Connection order: the earliest first, ties by id. */
export function byConnection(a: Endpoint, b: Endpoint): number {
  return a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Every stored endpoint, the corrupt ones apart. */
export async function listEndpoints(reader: Reader): Promise<CheckedListing<StoredEndpoint>> {
  const { records, corrupt } = checkListing(ENDPOINT_RECORD, await reader.list<unknown>('endpoints'), reader);
  return { records: records.map((r) => ({ key: r.key, value: withDefaults(r.value) })), corrupt };
}

/** The stored network named `name`, or undefined. @throws ERR_STATE_CORRUPT */
export async function getNetwork(reader: Reader, name: string): Promise<StoredNetwork | undefined> {
  const key = networkKey(name);
  const value = await reader.get<unknown>(key);
  return value === undefined ? undefined : networkWithDefaults(checkRecord(NETWORK_RECORD, key, value, reader));
}

/** Every stored network, the corrupt ones apart. */
export async function listNetworks(reader: Reader): Promise<CheckedListing<StoredNetwork>> {
  const { records, corrupt } = checkListing(NETWORK_RECORD, await reader.list<unknown>('networks'), reader);
  return { records: records.map((r) => ({ key: r.key, value: networkWithDefaults(r.value) })), corrupt };
}

/** A stored list of joiner ids (under `key`), or undefined. @throws ERR_STATE_CORRUPT */
export async function getIdList(reader: Reader, key: string): Promise<string[] | undefined> {
  const value = await reader.get<unknown>(key);
  return value === undefined ? undefined : checkRecord(JOINERS_RECORD, key, value, reader);
}
