import { ErrorCode, NetModeError, invalidConfig } from '../errors.js';
import type { Endpoint } from '../model/endpoint.js';
import type { StateStore, StateTransaction } from '../store/state-store.js';
import { withoutOperator } from './records.js';
import { containerEndpoints, getIdList, type Reader } from './state.js';

/**
 * Sandboxes shared through `container:NAME`. A joiner's record names the
 * container that owns the sandbox in `joinedTo`, always the owner at the
 * root of a chain (joining a joiner joins its owner). The owner's sandbox is
 * reference-counted: while joiners remain, disconnecting the owner's last
 * endpoint leaves its records `orphaned` and its networks in place; the owner
 * reconnecting on one of those networks takes that endpoint back; the last
 * joiner leaving an orphan tears it down.
 */

/** The container that owns `endpoint`'s sandbox (its own unless it joined another). */
export function sandboxOwnerOf(endpoint: Endpoint): string {
  return endpoint.joinedTo ?? endpoint.containerId;
}

/**
 * Finds the endpoint whose sandbox `containerId` asks to join, following
 * `container:` chains to the owner: the owner's endpoint that owns the
 * namespace, or its earliest attached one. Refuses joining oneself
 * (ERR_INVALID_CONFIG) and a target that is missing or not running
 * (ERR_ENDPOINT_NOT_FOUND).
 */
export async function resolveJoinTarget(store: StateStore, containerId: string, targetName: string): Promise<Endpoint> {
  if (targetName === containerId) throw invalidConfig('mode', `container ${containerId} cannot join its own sandbox`);
  const named = await containerEndpoints(store, targetName);
  const first = named[0];
  if (!first) {
    throw new NetModeError(ErrorCode.ENDPOINT_NOT_FOUND, `container ${targetName} has no endpoint to join`, {
      context: { containerId, target: targetName },
    });
  }
  const ownerId = sandboxOwnerOf(first);
  if (ownerId === containerId) throw invalidConfig('mode', `container ${containerId} cannot join its own sandbox (through ${targetName})`);
  const endpoints = ownerId === targetName ? named : await containerEndpoints(store, ownerId);
  const attached = endpoints.filter((e) => e.status === 'attached');
  const owner = attached.find((e) => e.ownsNetns) ?? attached[0];
  if (!owner) {
    throw new NetModeError(
      ErrorCode.ENDPOINT_NOT_FOUND,
      `container ${ownerId} is not running (status ${endpoints[0]?.status ?? 'gone'}); its sandbox cannot be joined`,
      { context: { containerId, target: targetName, owner: ownerId, status: endpoints[0]?.status } },
    );
  }
  const { hold: _hold, ...rest } = owner;
  return withoutOperator<Endpoint>(rest);
}

// Joiners are indexed by the owner container, so that disconnecting one of
// a thousand endpoints reads one record instead of all of them.
const joinersKey = (ownerId: string) => `joiners/${ownerId}`;

/** The ids of the endpoints that joined `ownerId`'s sandbox, read in the caller's transaction. */
export async function joinersOf(reader: Reader, ownerId: string): Promise<string[]> {
  return (await getIdList(reader, joinersKey(ownerId))) ?? [];
}

/** Records in the caller's transaction that `joinerId` joined `ownerId`'s sandbox. */
export async function addJoiner(tx: StateTransaction, ownerId: string, joinerId: string): Promise<void> {
  const joiners = await joinersOf(tx, ownerId);
  if (!joiners.includes(joinerId)) tx.put(joinersKey(ownerId), [...joiners, joinerId].sort());
}

/** Records in the caller's transaction that `joinerId` left `ownerId`'s sandbox. */
export async function removeJoiner(tx: StateTransaction, ownerId: string, joinerId: string): Promise<void> {
  const joiners = (await joinersOf(tx, ownerId)).filter((id) => id !== joinerId);
  if (joiners.length === 0) tx.delete(joinersKey(ownerId));
  else tx.put(joinersKey(ownerId), joiners);
}
