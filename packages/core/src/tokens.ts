/**
 * Dependency-injection tokens. Every constructor parameter netmode injects
 * names one of these explicitly, so no transpiler needs to emit decorator
 * metadata. `Symbol.for` makes them the same across copies of this package.
 *
 * @module
 */

/** Every registered {@link NetworkDriver}; resolved with `@injectAll`. */
export const NETWORK_DRIVER = Symbol.for('netmode.NetworkDriver');
/** The {@link CommandRunner} every process goes through. */
export const COMMAND_RUNNER = Symbol.for('netmode.CommandRunner');
/** The {@link StateStore} holding networks, endpoints and leases. */
export const STATE_STORE = Symbol.for('netmode.StateStore');
/** The {@link NetModeEmitter} of this netmode instance. */
export const EVENTS = Symbol.for('netmode.Events');
/** The {@link Ipam} service. */
export const IPAM = Symbol.for('netmode.Ipam');
/** The {@link SandboxService}. */
export const SANDBOXES = Symbol.for('netmode.Sandboxes');
/** The resolved {@link ManagerSettings} of this instance. */
export const MANAGER_SETTINGS = Symbol.for('netmode.ManagerSettings');
/** The {@link PortAllocator} for published host ports. */
export const PORTS = Symbol.for('netmode.Ports');
/** Every registered {@link FirewallBackend}, resolved with `@injectAll`; see `registerFirewallBackend`. */
export const FIREWALL_BACKEND = Symbol.for('netmode.FirewallBackend');
/** The instance's {@link FirewallRegistry}. */
export const FIREWALL_REGISTRY = Symbol.for('netmode.FirewallRegistry');
/** The {@link Firewall} the instance selected (`createNetMode({ firewall })`): the one every driver uses unless told otherwise. */
export const FIREWALL = Symbol.for('netmode.Firewall');
/** The instance's {@link NameService}: sandbox name files and the embedded DNS server's companion. */
export const NAMES = Symbol.for('netmode.Names');
