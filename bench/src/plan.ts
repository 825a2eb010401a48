/** What one run measures and how often: the full run, or `--quick` to iterate on the benchmark itself. */
export interface Plan {
  readonly quick: boolean;
  /** Print one JSON object on stdout instead of the tables. */
  readonly json: boolean;
  /** Also write the JSON object to this file (so one run gives both the tables and the JSON). */
  readonly save: string | undefined;
  /** Timed attach/detach pairs per row of the single-endpoint workloads. */
  readonly iterations: number;
  /** Untimed attach/detach pairs first, so bridges, firewall bases and caches exist. */
  readonly warmup: number;
  /** Endpoints of the "100 endpoints" workload. */
  readonly batch: number;
  /** Workers of its concurrent variant. */
  readonly concurrency: number;
  /** Endpoints held at once by the scale workload (the "1000th endpoint"). */
  readonly scale: number;
  /** User-defined networks the scale workload spreads them over (a bridge takes at most 1024 ports). */
  readonly scaleNetworks: number;
  /** Endpoints of the fill curve sampled around #10 and around the last one. */
  readonly window: number;
  /**
   * Rounds of the probe that times the 10th and the Nth endpoint side by
   * side: one instance holds 9 endpoints, another N-1, and each round
   * attaches and detaches one more on both, in alternating order, so a slow
   * spell of the shared machine hits both alike.
   */
  readonly probes: number;
  /** DNS workload: queries in flight at once from the load generator. */
  readonly dnsConcurrency: number;
  /** DNS workload: timed seconds of load per server and kind of name, in ms (after a 0.5 s warm-up). */
  readonly dnsDurationMs: number;
  /** Run only the DNS workload (`--only dns`), to iterate on it. */
  readonly only: 'dns' | undefined;
}

export const USAGE = `usage: node bench/dist/main.js [--quick] [--json] [--save FILE] [--only dns]

  --quick       a smaller run (10 iterations, 20 endpoints for the batch, 200 for scale)
  --json        print one JSON object on stdout (progress goes to stderr; through
                pnpm, use 'pnpm -s bench --json' so pnpm's banner stays off stdout)
  --save FILE   also write the JSON object to FILE
  --only dns    run only the DNS workload (the embedded server next to aardvark-dns)

Runs as root, inside namespaces it creates and deletes; never touches the
root namespace's interfaces, routes or firewall.`;

/** Parses the command line; returns a string (the usage or an error) when the run must not start. */
export function parsePlan(argv: readonly string[]): Plan | string {
  const known = new Set(['--quick', '--json', '--help', '-h']);
  const saveAt = argv.indexOf('--save');
  const save = saveAt >= 0 ? argv[saveAt + 1] : undefined;
  if (saveAt >= 0 && (save === undefined || save.startsWith('--'))) return `--save needs a file name\n\n${USAGE}`;
  const onlyAt = argv.indexOf('--only');
  if (onlyAt >= 0 && argv[onlyAt + 1] !== 'dns') return `--only takes dns\n\n${USAGE}`;
  const only = onlyAt >= 0 ? ('dns' as const) : undefined;
  const valued = (i: number) => (saveAt >= 0 && (i === saveAt || i === saveAt + 1)) || (onlyAt >= 0 && (i === onlyAt || i === onlyAt + 1));
  const unknown = argv.filter((a, i) => !known.has(a) && !valued(i));
  if (argv.includes('--help') || argv.includes('-h')) return USAGE;
  if (unknown.length > 0) return `unknown argument ${unknown.join(' ')}\n\n${USAGE}`;
  const quick = argv.includes('--quick');
  const json = argv.includes('--json');
  return quick
    ? {
        quick,
        json,
        save,
        iterations: 10,
        warmup: 1,
        batch: 20,
        concurrency: 4,
        scale: 200,
        scaleNetworks: 2,
        window: 5,
        probes: 10,
        dnsConcurrency: 8,
        dnsDurationMs: 3_000,
        only,
      }
    : {
        quick,
        json,
        save,
        iterations: 30,
        warmup: 2,
        batch: 100,
        concurrency: 4,
        scale: 1000,
        scaleNetworks: 4,
        window: 10,
        probes: 20,
        dnsConcurrency: 8,
        dnsDurationMs: 10_000,
        only,
      };
}
