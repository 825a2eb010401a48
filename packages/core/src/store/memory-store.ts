import { assertStateKey, type StateEntry, type StateStore, type StateTransaction } from './state-store.js';

/**
 * A {@link StateStore} held in memory, for unit tests and for runtimes that
 * keep no state across restarts. Transactions run one at a time within the
 * process; nothing is shared with other processes.
 */
export class MemoryStateStore implements StateStore {
  readonly #records = new Map<string, string>();
  #queue: Promise<unknown> = Promise.resolve();

  async get<T>(key: string): Promise<T | undefined> {
    assertStateKey(key);
    const text = this.#records.get(key);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  }

  async list<T>(prefix: string): Promise<StateEntry<T>[]> {
    assertStateKey(prefix);
    return listFrom<T>(this.#records, prefix);
  }

  transaction<T>(fn: (tx: StateTransaction) => Promise<T>): Promise<T> {
    const run = this.#queue.then(async () => {
      const pending = new Map<string, string | undefined>();
      const tx: StateTransaction = {
        get: async <V>(key: string) => {
          assertStateKey(key);
          const text = pending.has(key) ? pending.get(key) : this.#records.get(key);
          return text === undefined ? undefined : (JSON.parse(text) as V);
        },
        list: async <V>(prefix: string) => {
          assertStateKey(prefix);
          const merged = new Map(this.#records);
          for (const [key, text] of pending) {
            if (text === undefined) merged.delete(key);
            else merged.set(key, text);
          }
          return listFrom<V>(merged, prefix);
        },
        put: (key, value) => {
          assertStateKey(key);
          pending.set(key, JSON.stringify(value));
        },
        delete: (key) => {
          assertStateKey(key);
          pending.set(key, undefined);
        },
      };
      const result = await fn(tx);
      for (const [key, text] of pending) {
        if (text === undefined) this.#records.delete(key);
        else this.#records.set(key, text);
      }
      return result;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

function listFrom<T>(records: ReadonlyMap<string, string>, prefix: string): StateEntry<T>[] {
  const start = `${prefix}/`;
  return [...records.keys()]
    .filter((key) => key.startsWith(start))
    .sort()
    .map((key) => ({ key, value: JSON.parse(records.get(key) as string) as T }));
}
