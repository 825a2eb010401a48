import type { Endpoint } from '@netmode/core';
import type { NetworkAttachment } from '../args/network-attachment.js';
import { CliError, CliErrorCode } from '../cli-error.js';
import type { ContainerRecord } from './container-store.js';
import type { Session } from '../session.js';
import { runningSandbox } from './lifecycle.js';

/** What `network connect` asks for, besides the network and the container. */
export interface NetworkConnectSpec {
  /** A static address on the network. */
  readonly ip?: string;
  /** Other names of the container on the network. */
  readonly aliases?: readonly string[];
  /** Its gateway priority: see `ConnectOptions.gwPriority`. */
  readonly gwPriority?: number;
}

/**
 * Connects a running container to one more network: the SDK adds an
 * endpoint (the next free `ethN`) to the sandbox its process runs in, and
 * the process keeps running. Only a running container whose sandbox the SDK
 * still has: without one, `connect()` would make a new sandbox, one the
 * process is not in (ERR_CONTAINER_NOT_RUNNING, ERR_CONTAINER_BROKEN).
 * Everything else is the SDK's to refuse: a network it is on already
 * (ERR_ENDPOINT_EXISTS), a mode that is a whole sandbox such as host, none
 * or container:NAME (ERR_INVALID_CONFIG).
 */
export async function connectNetwork(session: Session, name: string, network: string, spec: NetworkConnectSpec): Promise<Endpoint> {
  const { netns } = await runningSandbox(session, name);
  const endpoint = await session.out.progress(`connecting ${name} (${network})`, () =>
    session.netmode.connect(name, network, {
      // Named, so that should the sandbox go before this connect (rm -f from
      // another shell), the connect fails on the missing namespace instead of
      // making a new sandbox. The host namespace is no sandbox to name: the
      // SDK refuses a host container another network as a whole sandbox.
      ...(netns.kind === 'host' ? {} : { netns }),
      ...(spec.ip === undefined ? {} : { ip: spec.ip }),
      ...(spec.aliases && spec.aliases.length > 0 ? { aliases: spec.aliases } : {}),
      ...(spec.gwPriority === undefined ? {} : { gwPriority: spec.gwPriority }),
    }),
  );
  // `start` connects it to this network again, as Docker's does.
  const attachment: NetworkAttachment = {
    name: network,
    aliases: spec.aliases ?? [],
    ...(spec.ip === undefined ? {} : { ip: spec.ip }),
    ...(spec.gwPriority === undefined ? {} : { gwPriority: spec.gwPriority }),
  };
  await changeAttachments(session, name, (list) => [...list.filter((a) => a.name !== network), attachment]);
  return endpoint;
}

/** Changes the networks `start` connects a container to (see `ContainerRecord.attachments`). */
async function changeAttachments(
  session: Session,
  name: string,
  change: (list: readonly NetworkAttachment[]) => NetworkAttachment[],
): Promise<void> {
  const record: ContainerRecord | undefined = await session.containers.get(name);
  if (!record) return;
  const list = change(record.attachments ?? record.networks.map((n) => ({ name: n, aliases: [] })));
  if (list.length > 0) await session.containers.update(name, { attachments: list });
}

/**
 * Disconnects a container from one of its networks: that endpoint and its
 * published ports go, the others stay. Its last network is refused
 * (ERR_LAST_NETWORK): the sandbox goes with it, and a running process would
 * be left in a namespace netmode no longer knows; `rm` removes the last.
 * A network it is not on is the SDK's ERR_ENDPOINT_NOT_FOUND.
 */
export async function disconnectNetwork(session: Session, name: string, network: string): Promise<void> {
  await session.containers.require(name);
  const sandbox = await session.netmode.inspect(name);
  const [only, ...others] = sandbox.endpoints;
  if (only?.network === network && others.length === 0) {
    throw new CliError(CliErrorCode.LAST_NETWORK, `${network} is the only network of container ${name}`);
  }
  await session.out.progress(`disconnecting ${name} (${network})`, () => session.netmode.disconnect(name, network));
  await changeAttachments(session, name, (list) => list.filter((a) => a.name !== network));
}
