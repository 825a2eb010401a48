import { CONTAINER_MODE_DRIVER } from '../driver/mode.js';
import { ErrorCode, NetModeError, invalidConfig } from '../errors.js';
import type { Endpoint } from '../model/endpoint.js';
import type { StateStore, StateTransaction } from '../store/state-store.js';
import { withoutOperator } from './records.js';
import { getEndpoint, getIdList, type Reader } from './state.js';

/**
 * Sandboxes shared through `container:NAME`. A joiner's record names the
 * endpoint that owns the sandbox in `driverData.target`, always the owner at
 * the root of a chain (joining a joiner joins its owner). The owner's
 * sandbox is reference-counted: while joiners remain, disconnecting the
 * owner leaves its record `orphaned` and its network in place; the owner
 * reconnecting on the same network takes it back; the last joiner leaving an
 * orphan tears it down.
 */

/** The id of the endpoint that owns `endpoint`'s sandbox (itself unless it joined another). */
export function sandboxOwnerOf(endpoint: Endpoint): string {
  const target = endpoint.driver === CONTAINER_MODE_DRIVER ? endpoint.driverData['target'] : undefined;
  return typeof target === 'string' ? target : endpoint.id;
}

/**
 * Finds the endpoint whose sandbox `containerId` asks to join, following
 * `container:` chains to the owner. Refuses joining oneself
 * (ERR_INVALID_CONFIG) and a target that is missing or not running
 * (ERR_ENDPOINT_NOT_FOUND).
 */
export async function resolveJoinTarget(store: StateStore, containerId: string, targetName: string): Promise<Endpoint> {
  if (targetName === containerId) throw invalidConfig('mode', `container ${containerId} cannot join its own sandbox`);
  const named = await getEndpoint(store, targetName);
  if (!named) {
    throw new NetModeError(ErrorCode.ENDPOINT_NOT_FOUND, `container ${targetName} has no endpoint to join`, {
      context: { containerId, target: targetName },
    });
  }
  const ownerId = sandboxOwnerOf(named);
  if (ownerId === containerId) throw invalidConfig('mode', `container ${containerId} cannot join its own sandbox (through ${targetName})`);
  const owner = ownerId === named.id ? named : await getEndpoint(store, ownerId);
  if (!owner || owner.status !== 'attached') {
    throw new NetModeError(
      ErrorCode.ENDPOINT_NOT_FOUND,
      `container ${ownerId} is not running (status ${owner?.status ?? 'gone'}); its sandbox cannot be joined`,
      { context: { containerId, target: targetName, owner: ownerId, status: owner?.status } },
    );
  }
  const { hold: _hold, ...rest } = owner;
  return withoutOperator<Endpoint>(rest);
}

// Joiners are indexed by owner, so that disconnecting one of a thousand
// endpoints reads one record instead of all of them.
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
