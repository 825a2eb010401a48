import { existsSync } from 'node:fs';
import {
  ErrorCode,
  FileStateStore,
  NETNS_RUN_DIR,
  NetModeError,
  createNetMode,
  namedNetns,
  type NetworkManager,
} from '@netmode/core';
import type { GlobalOptions } from './args/global-options.js';
import { ContainerStore } from './containers/container-store.js';
import { driverRegistrations } from './drivers.js';
import { Output } from './output/output.js';

/**
 * What every command works with: the global options, one state store shared
 * by the SDK and the CLI's container records, and the netmode instance,
 * made on first use so that `--help` and bad usage touch nothing.
 */
export class Session {
  readonly globals: GlobalOptions;
  readonly out: Output;
  readonly store: FileStateStore;
  readonly containers: ContainerStore;
  #netmode: NetworkManager | undefined;

  constructor(globals: GlobalOptions, out: Output = new Output()) {
    this.globals = globals;
    this.out = out;
    this.store = new FileStateStore(globals.stateDir);
    this.containers = new ContainerStore(this.store);
  }

  /** The netmode instance for these options. */
  get netmode(): NetworkManager {
    if (!this.#netmode) {
      const { hostNetns } = this.globals;
      if (hostNetns !== undefined && !existsSync(`${NETNS_RUN_DIR}/${hostNetns}`)) {
        throw new NetModeError(ErrorCode.NETNS_NOT_FOUND, `--host-netns: namespace ${hostNetns} does not exist (${NETNS_RUN_DIR}/${hostNetns})`, {
          context: { netns: hostNetns },
        });
      }
      this.#netmode = createNetMode({
        drivers: driverRegistrations(this.globals),
        store: this.store,
        ...(hostNetns === undefined ? {} : { hostNetns: namedNetns(hostNetns) }),
        ...(this.globals.namePrefix === undefined ? {} : { namePrefix: this.globals.namePrefix }),
      });
      this.#netmode.events.on('warning', (w) => this.out.warn(`${w.code}: ${w.message}`));
    }
    return this.#netmode;
  }
}
