import { existsSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { ErrorCode, FileStateStore, NETNS_RUN_DIR, NetModeError, createNetMode, namedNetns, type NetworkManager } from '@netmode/core';
import { DAEMON_SETTINGS } from './args/global-option-specs.js';
import type { GlobalOptions } from './args/globals.js';
import { usage } from './cli-error.js';
import type { CliNetMode } from './cli-netmode.js';
import { ContainerStore } from './containers/container-store.js';
import { driverRegistrations, type Registrations } from './drivers/driver-registrations.js';
import { Output } from './output/output.js';
import { parseDaemonAddress } from './remote/daemon-address.js';
import { HttpChannel, type ClientTls } from './remote/http-channel.js';
import { RemoteNetMode } from './remote/remote-netmode.js';
import { describeChange, keepFirstSettings, settleSettings, type SettingsUse } from './settings/apply-settings.js';
import { givenSettings, type Settings } from './settings/daemon-settings.js';

/**
 * Where a session's SDK work happens: `auto` follows `-H` (a daemon when
 * given, in-process otherwise); `embedded` always runs the SDK in this
 * process (`netmode daemon` itself, whose `-H` is where it listens).
 */
export type SdkPlace = 'auto' | 'embedded';

/**
 * What every command works with: the global options, the state store of the
 * CLI's container records, and the netmode instance, made on first use so
 * that a command that needs none touches nothing. With `-H` the instance is
 * a {@link RemoteNetMode} and the SDK's work is the daemon's; the container
 * records (the processes this CLI starts) stay in the local state directory.
 */
export class Session {
  readonly globals: GlobalOptions;
  readonly out: Output;
  readonly store: FileStateStore;
  readonly containers: ContainerStore;
  readonly #registrations: Registrations | undefined;
  #manager: NetworkManager | undefined;
  readonly #remote: RemoteNetMode | undefined;
  #watching = false;
  /** The first settings of a new state directory, until they are kept. */
  #pendingSettings: Settings | undefined;
  #keeping: Promise<void> | undefined;

  /**
   * Settles the daemon settings with those kept in the state directory
   * (`options.settings`, see settings/apply-settings.ts: the session's
   * `globals` are then the settings in force), loads the driver packages
   * they name (the four built-in ones by default) unless the SDK's work is a
   * daemon's, then makes the session. Throws `ERR_SETTINGS_CONFLICT`,
   * `ERR_DRIVER_PACKAGE_NOT_FOUND` or `ERR_DRIVER_PACKAGE_INVALID`, or a
   * usage error for a malformed `-H`.
   */
  static async open(
    globals: GlobalOptions,
    out: Output = new Output(),
    place: SdkPlace = 'auto',
    options: OpenOptions = {},
  ): Promise<Session> {
    if (place === 'auto' && globals.host !== undefined) {
      return new Session(globals, out, undefined, new RemoteNetMode(new HttpChannel(...channelTo(globals))));
    }
    const use = options.settings ?? 'apply';
    let pending = false;
    if (use !== 'none') {
      const store = new FileStateStore(globals.stateDir);
      const settled = await settleSettings(store, givenSettings(globals), {
        command: options.command ?? 'this command',
        use,
        // The manager that made what the settings in force shaped, to undo it.
        managerFor: async (settings) => {
          const old = withSettings(globals, settings);
          return makeManager(old, await driverRegistrations(old), store, out);
        },
        // Making the manager checks every value (the drivers' options, the host namespace).
        check: async (settings) => {
          const next = withSettings(globals, settings);
          makeManager(next, await driverRegistrations(next), store, out);
        },
        note: (text) => out.note(text),
        firstLater: use === 'apply' && (await isEmptyDir(globals.stateDir)),
      });
      globals = withSettings(globals, settled.inForce);
      pending = settled.pending;
    }
    const session = new Session(globals, out, await driverRegistrations(globals), undefined);
    session.#pendingSettings = pending ? givenSettings(globals) : undefined;
    return session;
  }

  private constructor(globals: GlobalOptions, out: Output, registrations: Registrations | undefined, remote: RemoteNetMode | undefined) {
    this.globals = globals;
    this.out = out;
    this.store = new FileStateStore(globals.stateDir);
    this.containers = new ContainerStore(this.store);
    this.#registrations = registrations;
    this.#remote = remote;
  }

  /** The netmode instance for these options: the daemon's with `-H`, this process's otherwise. */
  get netmode(): CliNetMode {
    if (this.#remote) {
      // Warnings of the daemon's manager are printed as in-process: its event stream is opened before the first call.
      if (!this.#watching) {
        this.#watching = true;
        this.#remote.events.on('warning', (w) => this.out.warn(`${w.code}: ${w.message}`));
        this.#remote.watchEvents().catch(() => {}); // a daemon that cannot be reached fails the call itself
      }
      return this.#remote;
    }
    return this.manager;
  }

  /**
   * The SDK's manager in this process; a session of `-H` has none (its
   * manager is the daemon's), and asking for it is a bug.
   */
  get manager(): NetworkManager {
    if (!this.#registrations) throw new Error('this session talks to a daemon (-H): it has no manager of its own');
    if (!this.#manager) {
      const manager = makeManager(this.globals, this.#registrations, this.store, this.out);
      // The first thing created in a new state directory keeps the settings it was made with.
      if (this.#pendingSettings !== undefined) {
        const keep = () => void (this.#keeping ??= this.#keepSettings());
        manager.events.once('network:created', keep);
        manager.events.once('sandbox:created', keep);
      }
      this.#manager = manager;
    }
    return this.#manager;
  }

  /**
   * Keeps the first settings of a new state directory once the command has
   * written anything there (a command refused before it changes anything
   * leaves the directory as it was); warns when another command kept other
   * ones meanwhile.
   */
  async #keepSettings(): Promise<void> {
    const settings = this.#pendingSettings;
    if (settings === undefined || (await isEmptyDir(this.globals.stateDir))) return;
    this.#pendingSettings = undefined;
    try {
      const differ = await keepFirstSettings(this.store, settings);
      for (const change of differ)
        this.out.warn(`${describeChange(change)}: another command kept its settings first; they are in force from now on`);
    } catch (error) {
      this.out.warn(`the settings could not be kept in ${this.globals.stateDir}: ${(error as Error).message}`);
    }
  }

  /** Lets go of the daemon's connections, if any; an embedded manager holds nothing to close. */
  async close(): Promise<void> {
    // Kept once something was created, or now if the command wrote anything since.
    await this.#keeping;
    await this.#keepSettings();
    await this.#remote?.close();
  }
}

/** What {@link Session.open} does with the daemon settings kept in the state directory. */
export interface OpenOptions {
  /**
   * `apply` (the default): store them the first time, apply or refuse a
   * change; `read`: use those stored, refuse a change; `none`: use the
   * options as given (a command that works in a state directory of its own,
   * as `demo`). See {@link SettingsUse}.
   */
  readonly settings?: SettingsUse | 'none';
  /** The command, for messages (`network ls`). */
  readonly command?: string;
}

/** The SDK's manager for these options, its warnings printed. */
function makeManager(globals: GlobalOptions, registrations: Registrations, store: FileStateStore, out: Output): NetworkManager {
  const { hostNetns } = globals;
  if (hostNetns !== undefined && !existsSync(`${NETNS_RUN_DIR}/${hostNetns}`)) {
    throw new NetModeError(
      ErrorCode.NETNS_NOT_FOUND,
      `--host-netns: namespace ${hostNetns} does not exist (${NETNS_RUN_DIR}/${hostNetns})`,
      {
        context: { netns: hostNetns },
      },
    );
  }
  const manager = createNetMode({
    drivers: registrations.drivers,
    firewalls: registrations.firewalls,
    ...(globals.firewall === undefined ? {} : { firewall: globals.firewall }),
    store,
    // The same directory as the store's: where the SDK writes the name
    // files a container's process sees, and keeps its DNS companion.
    stateDir: globals.stateDir,
    ...(hostNetns === undefined ? {} : { hostNetns: namedNetns(hostNetns) }),
    ...(globals.namePrefix === undefined ? {} : { namePrefix: globals.namePrefix }),
  });
  manager.events.on('warning', (w) => out.warn(`${w.code}: ${w.message}`));
  return manager;
}

/**
 * Whether `dir` is missing or empty: a state directory nothing was written
 * to. One that cannot be read is not: the state store reports it
 * (ERR_STATE_DIR_UNUSABLE) at its first use.
 */
async function isEmptyDir(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/** The client's own global options with these daemon settings in place of those given. */
function withSettings(globals: GlobalOptions, settings: Settings): GlobalOptions {
  const client: Record<string, unknown> = { ...globals };
  for (const { key } of DAEMON_SETTINGS) delete client[key];
  return { ...client, ...settings } as unknown as GlobalOptions;
}

/** The address and TLS files of `-H` and Docker's TLS flags. */
function channelTo(globals: GlobalOptions): [ReturnType<typeof parseDaemonAddress>, ClientTls | undefined] {
  const tls = globals.tlsVerify === true || globals.tlsCert !== undefined || globals.tlsCaCert !== undefined;
  const address = parseDaemonAddress(globals.host as string, tls);
  if (!tls) return [address, undefined];
  if (address.kind !== 'tcp')
    throw usage('--tlsverify and the --tls* files are for -H tcp://; a unix socket is guarded by its permissions');
  const read = (flag: string, file: string | undefined) => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(file);
    } catch (error) {
      throw usage(`${flag} ${file}: ${(error as Error).message}`);
    }
  };
  const ca = read('--tlscacert', globals.tlsCaCert);
  const cert = read('--tlscert', globals.tlsCert);
  const key = read('--tlskey', globals.tlsKey);
  return [address, { rejectUnauthorized: globals.tlsVerify === true, ...(ca && { ca }), ...(cert && { cert }), ...(key && { key }) }];
}
