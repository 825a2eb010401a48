/** One step of an operation: a process, or a state-store call, with its wall time. */
export interface Step {
  /** What it was, e.g. `ip -batch [link add] @host` or `cni bridge ADD`. */
  readonly label: string;
  readonly ms: number;
  /** Whether it ran inside a state-store transaction (its time is then part of that transaction's). */
  readonly inTx?: boolean;
}

/** A state-store call made by netmode during an operation. */
export interface StoreCall {
  readonly kind: 'transaction' | 'get' | 'list';
  /** The SDK function that made the call, `Function file.js:line`, from the stack. */
  readonly caller: string;
  readonly ms: number;
}

/** What one attach or detach did, beyond its wall time. */
export interface OpTrace {
  readonly steps: Step[];
  readonly store: StoreCall[];
}

export function emptyTrace(): OpTrace {
  return { steps: [], store: [] };
}

/**
 * Something that gives a container a bridge endpoint: netmode, a peer, or the
 * kernel floor. Each lives in its own throwaway host namespace, so one's
 * firewall never slows another's.
 */
export interface EndpointSystem {
  /** Short stable key, used in endpoint names and in the JSON. */
  readonly key: string;
  /** The row label of the tables. */
  readonly label: string;
  /**
   * Attaches endpoint `name` (unique within this system) to the system's
   * bridge network, with one published TCP port `hostPort` → 80 when given.
   * Includes creating the container's namespace, as netmode's connect does.
   */
  attach(name: string, hostPort?: number): Promise<OpTrace>;
  /** Detaches it again, deleting its namespace, as netmode's disconnect does. */
  detach(name: string): Promise<OpTrace>;
  /** Releases what the system holds in this process (its host namespace goes with the run's cleanup). */
  close(): Promise<void>;
  /**
   * Makes, untimed, a second bridge network beside the first (another
   * bridge, `SECOND_SUBNET`) for the "connect a second network to a
   * running container" workload. Absent on systems that cannot do that.
   */
  secondNetwork?(): Promise<SecondNetwork>;
}

/**
 * Docker's `network connect` of a running container, as one system does it:
 * a container attached with {@link EndpointSystem.attach} (its first
 * endpoint, `eth0`) gets a second interface, `eth1`, on the second network,
 * in the namespace its processes run in; disconnecting removes that one
 * endpoint and leaves the first and the namespace alone. Neither adds a
 * default route where the system lets the caller choose (the first endpoint
 * keeps it, as in Docker).
 */
export interface SecondNetwork {
  /** What connecting runs, for the report. */
  readonly label: string;
  /** The namespace file of attached container `name`: where its process is started. */
  netnsPath(name: string): Promise<string>;
  /** Connects attached container `name` to the second network. */
  connect(name: string): Promise<OpTrace>;
  /** Disconnects it from the second network only. */
  disconnect(name: string): Promise<OpTrace>;
}

/** Times a step and appends it to `trace`; rethrows a failure after recording it. */
export async function step<T>(trace: OpTrace, label: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    trace.steps.push({ label, ms: performance.now() - started });
  }
}
