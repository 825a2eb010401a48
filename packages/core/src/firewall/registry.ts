import type { DependencyContainer } from 'tsyringe';
import { invalidConfig } from '../errors.js';
import { FIREWALL_BACKEND } from '../tokens.js';
import { NoFirewall, type Firewall } from './firewall.js';
import { IptablesFirewall } from './iptables/iptables-firewall.js';
import { NftablesFirewall } from './nftables/nftables-firewall.js';

/**
 * A firewall backend as it is registered: its name (what
 * `createNetMode({ firewall })` and the CLI's `--firewall` select), a line
 * that says what it is, and how to make one.
 */
export interface FirewallBackend {
  /** The name it is selected by: letters, digits and `-`, unique among the registered backends. */
  readonly name: string;
  /** One line on what it is, for `--help` and error messages. */
  readonly description: string;
  /** Makes the backend; called once per netmode instance that selects it. */
  create(): Firewall;
}

/** The backends netmode ships, registered in every instance; the list of their names is this one. */
export const BUILTIN_FIREWALL_BACKENDS: readonly FirewallBackend[] = [
  { name: 'nftables', description: 'one table inet netmode, sets and maps (the default)', create: () => new NftablesFirewall() },
  {
    name: 'iptables',
    description: "netmode's own chains, for hosts whose firewall is managed with iptables",
    create: () => new IptablesFirewall(),
  },
  { name: 'none', description: "no rule anywhere (Docker's --iptables=false)", create: () => new NoFirewall() },
];

/** The backend an instance uses unless `createNetMode({ firewall })` names another. */
export const DEFAULT_FIREWALL = 'nftables';

const NAME = /^[a-z][a-z0-9-]{0,31}$/;

/**
 * Every firewall backend registered in one netmode instance (under
 * {@link FIREWALL_BACKEND}), by name, each made once: what the `FIREWALL`
 * token resolves from, and what a driver asks when an option names a
 * backend of its own.
 */
export class FirewallRegistry {
  readonly #backends = new Map<string, FirewallBackend>();
  readonly #made = new Map<string, Firewall>();

  /** @throws NetModeError ERR_INVALID_CONFIG for a malformed or twice-registered name. */
  constructor(backends: readonly FirewallBackend[]) {
    for (const backend of backends) {
      if (typeof backend?.name !== 'string' || !NAME.test(backend.name)) {
        throw invalidConfig(
          'firewalls',
          `${JSON.stringify(backend?.name)} is not a backend name: use 1 to 32 lower-case letters, digits or '-'`,
        );
      }
      if (this.#backends.has(backend.name)) throw invalidConfig('firewalls', `two firewall backends are registered as ${backend.name}`);
      this.#backends.set(backend.name, backend);
    }
  }

  /** The registered backends, in registration order. */
  get backends(): readonly FirewallBackend[] {
    return [...this.#backends.values()];
  }

  /**
   * The backend named `name`, made on first use.
   *
   * @throws NetModeError ERR_INVALID_CONFIG naming the registered backends when none has that name.
   */
  get(name: string, field = 'firewall'): Firewall {
    const made = this.#made.get(name);
    if (made) return made;
    const backend = typeof name === 'string' ? this.#backends.get(name) : undefined;
    if (!backend) {
      throw invalidConfig(
        field,
        `${JSON.stringify(name)} is not a registered firewall backend (registered: ${[...this.#backends.keys()].join(', ')})`,
      );
    }
    const firewall = backend.create();
    this.#made.set(name, firewall);
    return firewall;
  }
}

/**
 * Registers a firewall backend in a netmode instance's container: what a
 * third-party backend package's `registerXFirewall(container)` does, passed
 * to `createNetMode({ firewalls: [registerXFirewall], firewall: 'x' })`.
 */
export function registerFirewallBackend(container: DependencyContainer, backend: FirewallBackend): void {
  container.register(FIREWALL_BACKEND, { useValue: backend });
}
