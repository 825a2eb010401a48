import type { StateStore } from '@netmode/core';
import { CliError, CliErrorCode } from '../cli-error.js';
import { isProcessAlive as isAlive, type ProcessIdentity } from '@netmode/core';

/**
 * What the CLI remembers of a container it started, under
 * `STATE_DIR/cli/containers/NAME.json` (mode 0600, written atomically under
 * the state lock). The network side is the SDK's endpoint of the same name.
 */
export interface ContainerRecord {
  /** The container's name, which is also its endpoint's container id. */
  readonly name: string;
  /** The mode as given to `--net`: `bridge`, `host`, `none`, `container:NAME` or a network. */
  readonly mode: string;
  /** The command and its arguments. */
  readonly command: readonly string[];
  /** Whether it was started with `-d`. */
  readonly detached: boolean;
  /** ISO-8601 time the record was made. */
  readonly createdAt: string;
  /** The container's process, once started: the only process `stop` and `rm -f` ever signal. */
  readonly process?: ProcessIdentity;
  /** ISO-8601 time the process started. */
  readonly startedAt?: string;
  /** Where a detached container's output goes. */
  readonly log?: string;
  /** The `netmode run` process waiting on a foreground container. */
  readonly supervisor?: ProcessIdentity;
}

/** A container's life stage, as `ps` shows it. */
export type ContainerStatus = 'created' | 'running' | 'exited';

/** The status of a record, from whether its recorded process still runs. */
export function containerStatus(record: ContainerRecord): ContainerStatus {
  if (record.process) return isAlive(record.process) ? 'running' : 'exited';
  return record.supervisor && isAlive(record.supervisor) ? 'created' : 'exited';
}

const key = (name: string) => `cli/containers/${name}`;

/** The CLI's container records, kept in the SDK's state store beside its own records. */
export class ContainerStore {
  readonly #store: StateStore;

  constructor(store: StateStore) {
    this.#store = store;
  }

  /** Records a new container; refuses a name already in use (ERR_CONTAINER_EXISTS). */
  async reserve(record: ContainerRecord): Promise<void> {
    await this.#store.transaction(async (tx) => {
      const existing = await tx.get<ContainerRecord>(key(record.name));
      if (existing) {
        throw new CliError(
          CliErrorCode.CONTAINER_EXISTS,
          `the name ${record.name} is already in use by a container (${containerStatus(existing)})`,
        );
      }
      tx.put(key(record.name), record);
    });
  }

  /** Changes a record; a record removed meanwhile stays removed. */
  async update(name: string, change: Partial<ContainerRecord>): Promise<ContainerRecord | undefined> {
    return this.#store.transaction(async (tx) => {
      const existing = await tx.get<ContainerRecord>(key(name));
      if (!existing) return undefined;
      const next = { ...existing, ...change };
      tx.put(key(name), next);
      return next;
    });
  }

  async get(name: string): Promise<ContainerRecord | undefined> {
    return this.#store.get<ContainerRecord>(key(name));
  }

  /** The record, or ERR_CONTAINER_NOT_FOUND. */
  async require(name: string): Promise<ContainerRecord> {
    const record = await this.get(name);
    if (!record) throw new CliError(CliErrorCode.CONTAINER_NOT_FOUND, `no such container: ${name}`);
    return record;
  }

  async list(): Promise<ContainerRecord[]> {
    return (await this.#store.list<ContainerRecord>('cli/containers')).map((e) => e.value);
  }

  async remove(name: string): Promise<void> {
    await this.#store.transaction(async (tx) => tx.delete(key(name)));
  }
}
