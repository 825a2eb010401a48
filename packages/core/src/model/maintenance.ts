/**
 * What `reconcile()` and `gc()` report, and `gc()`'s options: plain values,
 * at the bottom with the other records, so that events and drivers can name
 * them without importing the manager.
 *
 * @module
 */

/** What `NetworkManager.reconcile()` did. */
export interface ReconcileReport {
  /** Container ids (and network names) of operations a dead process left half-done (`attaching`, `detaching`, `broken`, `creating`, `removing`), now finished by tearing them down. */
  readonly finished: readonly string[];
  /** Endpoints whose sandbox vanished (a reboot, a deleted namespace): torn down, leases released. */
  readonly lost: readonly string[];
  /** Endpoints whose kernel objects no longer match the record: now `broken`, to be disconnected. */
  readonly broken: readonly string[];
  /**
   * Container ids of endpoints whose shared state (bridge, firewall rules)
   * was checked and restored where missing, and one line per container on
   * several networks whose default route was put back on the endpoint of
   * highest rank (`web: default route via 10.0.1.1 on front`).
   */
  readonly repaired: readonly string[];
  /** Address, subnet and port leases that records hold but the lease records had lost, recorded again. */
  readonly restoredLeases: number;
  /** Leases (addresses, subnets, ports) whose owner no longer exists, released. */
  readonly releasedLeases: number;
  /** What could not be done, one sentence each; the rest went on. */
  readonly failures: readonly string[];
}

/** What `NetworkManager.gc()` did. */
export interface GcReport {
  /** Endpoints disconnected because their container was not in the valid list. */
  readonly disconnected: readonly string[];
  /** Kernel objects proven to be this instance's that no record owned, removed. */
  readonly removedObjects: readonly string[];
  /** Leases whose owner no longer exists, released. */
  readonly releasedLeases: number;
  /** What could not be done; the rest went on. */
  readonly failures: readonly string[];
}

/** Options of `NetworkManager.gc()`. */
export interface GcOptions {
  /**
   * When the caller started listing its valid containers; endpoints created
   * after it are never collected, since the list could not name them.
   * Default: the moment `gc()` is called.
   */
  readonly listedAt?: Date;
}
