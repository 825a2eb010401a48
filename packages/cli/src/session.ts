import { existsSync } from 'node:fs';
import { ErrorCode, FileStateStore, NETNS_RUN_DIR, NetModeError, createNetMode, namedNetns, type NetworkManager } from '@netmode/core';
import type { GlobalOptions } from './args/globals.js';
import { ContainerStore } from './containers/container-store.js';
import { driverRegistrations, type Registrations } from './drivers/driver-registrations.js';
import { Output } from './output/output.js';

/**
 * What every command works with: the global options, one state store shared
 * by the SDK and the CLI's container records, the drivers, and the netmode
 * instance, made on first use so that a command that needs none touches
 * nothing.
 */
export class Session {
  readonly globals: GlobalOptions;
  readonly out: Output;
  readonly store: FileStateStore;
  readonly containers: ContainerStore;
  readonly #registrations: Registrations;
  #netmode: NetworkManager | undefined;

  /**
   * Loads the driver packages the global options name (the four built-in
   * ones by default), then makes the session. Throws
   * `ERR_DRIVER_PACKAGE_NOT_FOUND` or `ERR_DRIVER_PACKAGE_INVALID`.
   */
  static async open(globals: GlobalOptions, out: Output = new Output()): Promise<Session> {
    return new Session(globals, out, await driverRegistrations(globals));
  }

  private constructor(globals: GlobalOptions, out: Output, registrations: Registrations) {
    this.globals = globals;
    this.out = out;
    this.store = new FileStateStore(globals.stateDir);
    this.containers = new ContainerStore(this.store);
    this.#registrations = registrations;
  }

  /** The netmode instance for these options. */
  get netmode(): NetworkManager {
    if (!this.#netmode) {
      const { hostNetns } = this.globals;
      if (hostNetns !== undefined && !existsSync(`${NETNS_RUN_DIR}/${hostNetns}`)) {
        throw new NetModeError(
          ErrorCode.NETNS_NOT_FOUND,
          `--host-netns: namespace ${hostNetns} does not exist (${NETNS_RUN_DIR}/${hostNetns})`,
          {
            context: { netns: hostNetns },
          },
        );
      }
      this.#netmode = createNetMode({
        drivers: this.#registrations.drivers,
        firewalls: this.#registrations.firewalls,
        ...(this.globals.firewall === undefined ? {} : { firewall: this.globals.firewall }),
        store: this.store,
        // The same directory as the store's: where the SDK writes the name
        // files a container's process sees, and keeps its DNS companion.
        stateDir: this.globals.stateDir,
        ...(hostNetns === undefined ? {} : { hostNetns: namedNetns(hostNetns) }),
        ...(this.globals.namePrefix === undefined ? {} : { namePrefix: this.globals.namePrefix }),
      });
      this.#netmode.events.on('warning', (w) => this.out.warn(`${w.code}: ${w.message}`));
    }
    return this.#netmode;
  }
}
