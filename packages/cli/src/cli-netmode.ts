import type { NetworkManager } from '@netmode/core';

/**
 * The part of the SDK's `NetworkManager` the commands use: the in-process
 * manager has it, and so does `RemoteNetMode`, which asks a `netmode daemon`
 * (`-H`). Commands see only this, so the same command runs embedded or
 * through a socket, with the same output and exit statuses.
 */
export type CliNetMode = Pick<
  NetworkManager,
  | 'connect'
  | 'disconnect'
  | 'inspect'
  | 'inspectEndpoint'
  | 'nameFiles'
  | 'check'
  | 'list'
  | 'createNetwork'
  | 'removeNetwork'
  | 'listNetworks'
  | 'inspectNetwork'
  | 'reconcile'
  | 'gc'
  | 'events'
>;
