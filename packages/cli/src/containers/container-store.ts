import {
  type NameSettings,
  type PortMapping,
  checkListing,
  checkRecord,
  isProcessAlive as isAlive,
  type CorruptRecord,
  type ProcessIdentity,
  type RecordKind,
  type StateStore,
} from '@netmode/core';
import Type from 'typebox';
import type { Static } from 'typebox';
import type { NetworkAttachment } from '../args/network-attachment.js';
import { CliError, CliErrorCode } from '../cli-error.js';
import { OWN_NAMESPACES, type OwnNamespace } from './isolation.js';
import { findMarkedProcess } from './start-marker.js';

/**
 * What the CLI remembers of a container it started, under
 * `STATE_DIR/cli/containers/NAME.json` (mode 0600, written atomically under
 * the state lock). The network side is the SDK's sandbox of the same name:
 * its endpoints, one per network.
 */
export interface ContainerRecord {
  /** The container's name, which is also its endpoint's container id. */
  readonly name: string;
  /**
   * The networks `run` connected it to, as given to `--net` and in that
   * order: `bridge`, `host`, `none`, `container:NAME` or networks' names.
   * The first is its mode, as Docker's `HostConfig.NetworkMode`. What it is
   * on now is the SDK's sandbox: `network connect` and `network disconnect`
   * change that, not this.
   */
  readonly networks: readonly string[];
  /**
   * What `start` connects it to again, in this order, each with the options
   * the user gave (a static `ip` only if one was asked for): `run`'s
   * networks, changed by `network connect` and `network disconnect`. Absent
   * in a record written before containers could be started again: then
   * {@link networks}, without options.
   */
  readonly attachments?: readonly NetworkAttachment[];
  /** The ports `run -p` asked for, as asked (an ephemeral host port stays ephemeral). */
  readonly ports?: readonly PortMapping[];
  /** Its name settings (`--hostname`, `--dns`, …), given again at each start. */
  readonly names?: NameSettings;
  /** The command and its arguments. */
  readonly command: readonly string[];
  /** Whether it was started with `-d`. */
  readonly detached: boolean;
  /** `run --rm`: removed with everything when its process ends in the foreground or `stop` ends it. */
  readonly autoRemove?: boolean;
  /**
   * ISO-8601 time `stop` ended it and released its endpoints (its
   * addresses and published ports); absent while it runs and until then.
   */
  readonly stoppedAt?: string;
  /** ISO-8601 time the record was made. */
  readonly createdAt: string;
  /** The container's process, once started: the only process `stop` and `rm -f` ever signal. */
  readonly process?: ProcessIdentity;
  /** ISO-8601 time the process started. */
  readonly startedAt?: string;
  /** The `netmode run` process that is starting the container (and, in the foreground, waits on it). */
  readonly supervisor?: ProcessIdentity;
  /**
   * A random token put in the container process's environment
   * (`NETMODE_START_TOKEN`), so that a process whose starter died before
   * recording it can still be found and recorded (see `start-marker.ts`).
   */
  readonly startToken?: string;
  /**
   * The namespaces its process has of its own besides the network's
   * (`mnt`, `uts`: see `isolation.ts`), which `exec` enters too; absent for
   * a container started before CLI containers had any, whose process has none.
   */
  readonly namespaces?: readonly OwnNamespace[];
}

/** A container's life stage, as `ps` shows it. */
export type ContainerStatus = 'created' | 'running' | 'exited';

const Identity = Type.Object({ pid: Type.Integer({ minimum: 1 }), start: Type.String() });

const Attachment = Type.Object({
  name: Type.String({ minLength: 1 }),
  ip: Type.Optional(Type.String()),
  mac: Type.Optional(Type.String()),
  aliases: Type.Array(Type.String()),
  gwPriority: Type.Optional(Type.Integer()),
});

const Port = Type.Object({
  hostIp: Type.Optional(Type.String()),
  hostPort: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  containerPort: Type.Integer({ minimum: 1, maximum: 65535 }),
  count: Type.Optional(Type.Integer({ minimum: 1 })),
  protocol: Type.Optional(Type.Union([Type.Literal('tcp'), Type.Literal('udp')])),
});

const Names = Type.Object({
  name: Type.Optional(Type.String()),
  hostname: Type.Optional(Type.String()),
  domainname: Type.Optional(Type.String()),
  dns: Type.Optional(Type.Array(Type.String())),
  dnsSearch: Type.Optional(Type.Array(Type.String())),
  dnsOptions: Type.Optional(Type.Array(Type.String())),
  extraHosts: Type.Optional(Type.Array(Type.String())),
});

const CONTAINER_RECORD: RecordKind<ReturnType<typeof schema>> = {
  what: 'container record',
  schema: schema(),
  refine: (record, key) => {
    if (key !== `cli/containers/${record.name}`) return `it names container ${JSON.stringify(record.name)}`;
    if (record.networks === undefined && record.mode === undefined) return 'it names no network (field networks, or mode)';
    return undefined;
  },
};

function schema() {
  return Type.Object({
    name: Type.String({ minLength: 1 }),
    networks: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })),
    // The one network of a record written before containers had several
    // (netmode 0.1): read as `networks: [mode]`, rewritten at the next update.
    mode: Type.Optional(Type.String({ minLength: 1 })),
    attachments: Type.Optional(Type.Array(Attachment, { minItems: 1 })),
    ports: Type.Optional(Type.Array(Port)),
    names: Type.Optional(Names),
    command: Type.Array(Type.String(), { minItems: 1 }),
    detached: Type.Boolean(),
    autoRemove: Type.Optional(Type.Boolean()),
    stoppedAt: Type.Optional(Type.String()),
    createdAt: Type.String(),
    process: Type.Optional(Identity),
    startedAt: Type.Optional(Type.String()),
    supervisor: Type.Optional(Identity),
    startToken: Type.Optional(Type.String({ pattern: '^[0-9a-f]{32}$' })),
    namespaces: Type.Optional(Type.Array(Type.Union(OWN_NAMESPACES.map((ns) => Type.Literal(ns))))),
  });
}

/**
 * The container's process: the recorded one, or — when its starter died
 * before recording it — the process that carries its start token, if one
 * still runs.
 */
export function processOf(record: ContainerRecord): ProcessIdentity | undefined {
  if (record.process) return record.process;
  if (!record.startToken || (record.supervisor && isAlive(record.supervisor))) return undefined;
  return findMarkedProcess(record.startToken);
}

/** The status of a record, from whether its process still runs. */
export function containerStatus(record: ContainerRecord): ContainerStatus {
  const proc = processOf(record);
  if (proc) return isAlive(proc) ? 'running' : 'exited';
  return record.supervisor && isAlive(record.supervisor) ? 'created' : 'exited';
}

const key = (name: string) => `cli/containers/${name}`;

type StoredRecord = Static<ReturnType<typeof schema>>;

/** A checked record as the CLI uses it, whichever format it was written in. */
function fromStored(stored: StoredRecord): ContainerRecord {
  const { mode, networks, ...rest } = stored;
  return { ...rest, networks: networks ?? [mode as string] };
}

/** Checks a stored value and reads it; ERR_STATE_CORRUPT naming the file when it cannot be. */
function readRecord(name: string, value: unknown, store: StateStore): ContainerRecord {
  return fromStored(checkRecord(CONTAINER_RECORD, key(name), value, store));
}

/** The CLI's container records, kept in the SDK's state store beside its own records. */
export class ContainerStore {
  readonly #store: StateStore;

  constructor(store: StateStore) {
    this.#store = store;
  }

  /** Records a new container; refuses a name already in use (ERR_CONTAINER_EXISTS). */
  async reserve(record: ContainerRecord): Promise<void> {
    await this.#store.transaction(async (tx) => {
      const existing = await tx.get<unknown>(key(record.name));
      if (existing !== undefined) {
        const status = containerStatus(readRecord(record.name, existing, this.#store));
        throw new CliError(CliErrorCode.CONTAINER_EXISTS, `the name ${record.name} is already in use by a container (${status})`);
      }
      tx.put(key(record.name), record);
    });
  }

  /**
   * Changes a record: sets the fields of `change`, then drops those of
   * `drop`; a record removed meanwhile stays removed.
   */
  async update(
    name: string,
    change: Partial<ContainerRecord>,
    drop: readonly (keyof ContainerRecord)[] = [],
  ): Promise<ContainerRecord | undefined> {
    return this.#store.transaction(async (tx) => {
      const value = await tx.get<unknown>(key(name));
      if (value === undefined) return undefined;
      const next: ContainerRecord = { ...readRecord(name, value, this.#store), ...change };
      for (const field of drop) delete (next as Partial<ContainerRecord>)[field];
      tx.put(key(name), next);
      return next;
    });
  }

  /**
   * Claims a container that does not run for `start`, under the state lock
   * (of two `start`s one wins; the other gets ERR_CONTAINER_RUNNING): sets
   * `change` (the new starter and start token) and drops its last process,
   * and when it started and stopped.
   */
  async claim(name: string, change: Partial<ContainerRecord>): Promise<ContainerRecord> {
    return this.#store.transaction(async (tx) => {
      const value = await tx.get<unknown>(key(name));
      if (value === undefined) throw new CliError(CliErrorCode.CONTAINER_NOT_FOUND, `no such container: ${name}`);
      const record = readRecord(name, value, this.#store);
      const status = containerStatus(record);
      if (status !== 'exited') {
        const what = status === 'running' ? 'running' : `being started by pid ${record.supervisor?.pid ?? '?'}`;
        throw new CliError(CliErrorCode.CONTAINER_RUNNING, `container ${name} is ${what}`);
      }
      const next: ContainerRecord = { ...record, ...change };
      for (const field of ['process', 'startedAt', 'stoppedAt'] as const) delete (next as Partial<ContainerRecord>)[field];
      tx.put(key(name), next);
      return next;
    });
  }

  /** The record, or undefined. @throws ERR_STATE_CORRUPT naming the file when it cannot be read. */
  async get(name: string): Promise<ContainerRecord | undefined> {
    const value = await this.#store.get<unknown>(key(name));
    return value === undefined ? undefined : readRecord(name, value, this.#store);
  }

  /** The record, or ERR_CONTAINER_NOT_FOUND. */
  async require(name: string): Promise<ContainerRecord> {
    const record = await this.get(name);
    if (!record) throw new CliError(CliErrorCode.CONTAINER_NOT_FOUND, `no such container: ${name}`);
    return record;
  }

  /** Every readable record, and apart those that cannot be read. */
  async list(): Promise<{ records: ContainerRecord[]; corrupt: readonly CorruptRecord[] }> {
    const { records, corrupt } = checkListing(CONTAINER_RECORD, await this.#store.list<unknown>('cli/containers'), this.#store);
    return { records: records.map((e) => fromStored(e.value)), corrupt };
  }

  async remove(name: string): Promise<void> {
    await this.#store.transaction(async (tx) => tx.delete(key(name)));
  }
}
