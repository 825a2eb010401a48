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

/**
 * tsyringe's decorators and types, for driver packages: importing them from
 * here rather than from `tsyringe` guarantees that `reflect-metadata` is
 * loaded first, whatever the import order of the application, and that a
 * driver uses the same tsyringe as core.
 */
export { Lifecycle, inject, injectAll, injectable, type DependencyContainer } from 'tsyringe';

export * from './errors.js';
export * from './events.js';
export * from './model/index.js';
export * from './tokens.js';

export * from './net/address.js';
export * from './net/names.js';
export * from './names/name-table.js';
export * from './names/settings.js';
export * from './names/name-files.js';
export { NameService, readHostResolvConf, type NameServiceSettings, type SandboxNames } from './names/name-service.js';
export {
  companionLogPath,
  controlSocketPath,
  type ControlReply,
  type ControlRequest,
  type NameServerStatus,
  type PortRefusal,
} from './names/companion-control.js';
export * from './names/dns/embedded-dns-server.js';

export type { StateEntry, StateStore, StateTransaction } from './store/state-store.js';
export { UnreadableRecord, assertStateKey } from './store/state-store.js';
export {
  checkListing,
  checkRecord,
  type CheckedListing,
  type CheckedRecord,
  type CorruptRecord,
  type RecordKind,
} from './store/record-schema.js';
export { MemoryStateStore } from './store/memory-store.js';
export { FileStateStore, type FileStateStoreOptions } from './store/file-store.js';
export { currentProcess, isProcessAlive, processStartTime, type ProcessIdentity } from './store/process-identity.js';

export type { CommandResult, CommandRunner, CommandSpec } from './exec/runner.js';
export { KNOWN_TOOLS, expectedAnswer } from './exec/runner.js';
export { resolveToolPath } from './exec/tool-path.js';
export { ExecaRunner, buildArgv, type ExecaRunnerOptions } from './exec/execa-runner.js';
export { HelperRunner, type HelperRunnerOptions } from './exec/helper-runner.js';
export { IpBatch, runIpBatch, type AddressOptions, type LinkAddOptions, type RouteSpec } from './exec/ip-batch.js';
export { classifyToolFailure } from './exec/tool-failure.js';

export { NetnsSandboxService, SANDBOX_SYSCTLS, resolveSandboxSysctls } from './netns/sandbox-service.js';
export type { SandboxCreateOptions, SandboxService } from './netns/types.js';
export { readHostRoutes, readEphemeralPortRange } from './netns/host-facts.js';

export { StoreIpam, type IpamOptions } from './ipam/ipam.js';
export { StorePortAllocator, type PortAllocatorOptions } from './ports/port-allocator.js';
export type { HostPortHolder, PortAllocator, PortLease, PortOperations, PortRequest, PortsAllocatedWith } from './ports/types.js';
export {
  NoFirewall,
  type Firewall,
  type FirewallBaseState,
  type FirewallCapabilities,
  type FirewallEndpoint,
  type FirewallNetwork,
  type FirewallOwner,
  type FirewallPort,
  type FirewallScope,
} from './firewall/firewall.js';
export {
  BUILTIN_FIREWALL_BACKENDS,
  DEFAULT_FIREWALL,
  FirewallRegistry,
  registerFirewallBackend,
  type FirewallBackend,
} from './firewall/registry.js';
export {
  assertOwnerId,
  validateFirewallEndpoint,
  validateFirewallNetwork,
  type PublishedPort,
  type ValidEndpoint,
  type ValidNetwork,
} from './firewall/validate.js';
export { NftablesFirewall } from './firewall/nftables/nftables-firewall.js';
export { ISOLATED_PORTS, PortFilter, PORT_TABLE, portIsolation, type PortIsolation } from './firewall/port-filter.js';
export { IptablesFirewall } from './firewall/iptables/iptables-firewall.js';
export { IpamTransaction } from './ipam/ipam-transaction.js';
export { DEFAULT_ADDRESS_POOLS, type AddressPool } from './ipam/pools.js';
export type { AddressLease, AddressRequest, Ipam, IpamOperations, ReservedSubnet, SubnetLease, SubnetRequest } from './ipam/types.js';
export { validateSubnetConfig } from './ipam/subnet-request.js';

export * from './driver/network-driver.js';
export { UndoStack, TeardownSteps } from './driver/undo-stack.js';
export { refuseOptions } from './driver/refuse-options.js';
export * from './driver/kit/index.js';
export { parseMode, formatMode, CONTAINER_MODE_DRIVER, type ParsedMode } from './driver/mode.js';

export { NetworkManager, type ManagerSettings } from './manager/network-manager.js';
export { validateConnectOptions, validateLabels } from './manager/connect-options.js';
export { createNetMode, DEFAULT_STATE_DIR, type DriverRegistration, type NetModeOptions } from './create.js';
