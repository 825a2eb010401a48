/** Resident and heap memory of this process, in MiB. */
export interface MemoryReading {
  readonly rssMb: number;
  readonly heapUsedMb: number;
  /** Memory of C++ objects bound to JS ones (Buffers among them). */
  readonly externalMb: number;
}

/** Reads memory after two collections when the process runs with --expose-gc (the workers do), so garbage does not count. */
export function memory(): MemoryReading {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const usage = process.memoryUsage();
  return { rssMb: usage.rss / 2 ** 20, heapUsedMb: usage.heapUsed / 2 ** 20, externalMb: usage.external / 2 ** 20 };
}
