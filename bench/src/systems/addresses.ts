/**
 * The bridge subnet every system uses, each in its own host namespace:
 * 10.231.0.0/16, gateway .1. Nothing outside the run's namespaces ever sees it.
 */
export const SUBNET = '10.231.0.0/16';
export const GATEWAY = '10.231.0.1';
export const PREFIX_LENGTH = 16;

/** The n-th container address (n from 0): 10.231.0.2, 10.231.0.3, … */
export function containerAddress(n: number): string {
  const value = 2 + n;
  return `10.231.${Math.floor(value / 256)}.${value % 256}`;
}

/**
 * Hands out container addresses for peers that allocate none themselves
 * (netavark takes `static_ips` from its caller) and for the floor.
 */
export class AddressBook {
  readonly #used = new Set<number>();
  readonly #byName = new Map<string, number>();

  take(name: string): string {
    let n = 0;
    while (this.#used.has(n)) n++;
    this.#used.add(n);
    this.#byName.set(name, n);
    return containerAddress(n);
  }

  release(name: string): void {
    const n = this.#byName.get(name);
    if (n === undefined) return;
    this.#used.delete(n);
    this.#byName.delete(name);
  }
}
