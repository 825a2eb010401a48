/**
 * The bridge subnet every system uses, each in its own host namespace:
 * 10.231.0.0/16, gateway .1. Nothing outside the run's namespaces ever sees it.
 */
export const SUBNET = '10.231.0.0/16';
export const GATEWAY = '10.231.0.1';
export const PREFIX_LENGTH = 16;

/**
 * The second bridge network of the "connect a second network" workload, on
 * another bridge in the same host namespace: 10.235.0.0/16, gateway .1.
 */
export const SECOND_SUBNET = '10.235.0.0/16';
export const SECOND_GATEWAY = '10.235.0.1';

/** The n-th container address (n from 0) of a /16 whose second octet is `octet`: 10.231.0.2, 10.231.0.3, … */
export function containerAddress(n: number, octet = 231): string {
  const value = 2 + n;
  return `10.${octet}.${Math.floor(value / 256)}.${value % 256}`;
}

/**
 * Hands out container addresses for peers that allocate none themselves
 * (netavark takes `static_ips` from its caller) and for the floor.
 */
export class AddressBook {
  /** @param octet - the second octet of the /16 the addresses come from (231: {@link SUBNET}, 235: {@link SECOND_SUBNET}). */
  constructor(private readonly octet = 231) {}

  readonly #used = new Set<number>();
  readonly #byName = new Map<string, number>();

  take(name: string): string {
    let n = 0;
    while (this.#used.has(n)) n++;
    this.#used.add(n);
    this.#byName.set(name, n);
    return containerAddress(n, this.octet);
  }

  release(name: string): void {
    const n = this.#byName.get(name);
    if (n === undefined) return;
    this.#used.delete(n);
    this.#byName.delete(name);
  }
}
