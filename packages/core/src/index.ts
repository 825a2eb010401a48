/**
 * `@netmode/core`: the contracts and services behind netmode.
 *
 * Runtime authors call {@link createNetMode} with the drivers they want and
 * talk to the returned {@link NetworkManager}. Driver authors implement
 * {@link NetworkDriver} and register it under {@link NETWORK_DRIVER}, using
 * the runner, IPAM, sandbox service and helpers exported here.
 *
 * @module
 */
import 'reflect-metadata';

export * from './errors.js';
export * from './events.js';
export * from './model/index.js';
export * from './tokens.js';

export * from './net/address.js';
export * from './net/names.js';

export type { StateEntry, StateStore, StateTransaction } from './store/state-store.js';
export { assertStateKey } from './store/state-store.js';
export { MemoryStateStore } from './store/memory-store.js';
export { FileStateStore, type FileStateStoreOptions } from './store/file-store.js';
export {
  currentProcess,
  isProcessAlive,
  processStartTime,
  type ProcessIdentity,
} from './store/process-identity.js';

export type { CommandResult, CommandRunner, CommandSpec } from './exec/runner.js';
export { KNOWN_TOOLS } from './exec/runner.js';
export { resolveToolPath } from './exec/tool-path.js';
export { ExecaRunner, buildArgv, type ExecaRunnerOptions } from './exec/execa-runner.js';
export { HelperRunner, type HelperRunnerOptions } from './exec/helper-runner.js';
export { IpBatch, runIpBatch } from './exec/ip-batch.js';

export { SandboxService, type SandboxCreateOptions } from './netns/sandbox-service.js';
export { readHostRoutes, readEphemeralPortRange } from './netns/host-facts.js';

export { Ipam, type IpamOptions } from './ipam/ipam.js';
export {
  PortAllocator,
  allocateWithin as allocatePortsWithin,
  releaseOwnerWithin as releasePortsWithin,
  type PortAllocatorOptions,
  type PortsAllocatedWith,
  type PortLease,
  type PortRequest,
} from './ports/port-allocator.js';
export type { Firewall, FirewallEndpoint, FirewallKind, FirewallNetwork, FirewallPort, FirewallScope } from './firewall/firewall.js';
export { NoFirewall } from './firewall/firewall.js';
export { NftablesFirewall } from './firewall/nftables/nftables-firewall.js';
export { ISOLATED_PORTS, PortFilter, PORT_TABLE, portIsolation, type PortIsolation } from './firewall/nftables/port-filter.js';
export { IptablesFirewall } from './firewall/iptables/iptables-firewall.js';
export { createFirewall } from './firewall/create-firewall.js';
export { IpamTransaction } from './ipam/ipam-transaction.js';
export { DEFAULT_ADDRESS_POOLS, type AddressPool } from './ipam/pools.js';
export type { AddressLease, AddressRequest, SubnetLease, SubnetRequest } from './ipam/types.js';

export * from './driver/network-driver.js';
export { UndoStack, TeardownSteps } from './driver/undo-stack.js';
export { refuseOptions } from './driver/refuse-options.js';
export { parseMode, formatMode, CONTAINER_MODE_DRIVER, type ParsedMode } from './driver/mode.js';

export { NetworkManager, type ManagerSettings } from './manager/network-manager.js';
export type { GcReport, ReconcileReport } from './manager/maintenance.js';
export { validateConnectOptions, validateLabels, validateNetnsRef } from './manager/connect-options.js';
export { createNetMode, DEFAULT_STATE_DIR, type DriverRegistration, type NetModeOptions } from './create.js';
