import { IP } from './namespaces.js';
import { runProcess } from './proc.js';

/** What the run must leave as it found it in the root namespace. */
export type RootSnapshot = Readonly<Record<string, string>>;

const PROBES: Readonly<Record<string, readonly string[]>> = {
  'ip netns list': [IP, 'netns', 'list'],
  'ip -br link': [IP, '-br', 'link'],
  'ip route (all tables)': [IP, 'route', 'show', 'table', 'all'],
  'nft list ruleset': ['/usr/sbin/nft', 'list', 'ruleset'],
  'iptables-save': ['/usr/sbin/iptables-save'],
  'net.ipv4.ip_forward': ['/usr/sbin/sysctl', '-n', 'net.ipv4.ip_forward'],
};

/** Reads the root namespace's links, routes, firewall and forwarding switch (read-only commands). */
export async function snapshotRoot(): Promise<RootSnapshot> {
  const out: Record<string, string> = {};
  for (const [label, argv] of Object.entries(PROBES)) {
    const result = await runProcess(argv);
    // Counters and timestamps change by themselves; link state flags of the
    // machine's own links are not ours either, but stay put in practice.
    out[label] = `${result.stdout}${result.stderr}`
      .split('\n')
      .filter((line) => !line.startsWith('#'))
      .map((line) => line.replace(/\[\d+:\d+\]/g, '[]'))
      .join('\n');
  }
  return out;
}

/** What changed in the root namespace between two snapshots. */
export interface RootDiff {
  /** Each probe whose output changed, with the lines that appeared (+) or went (-). */
  readonly changes: string[];
  /**
   * Namespaces without this run's prefix that appeared or went meanwhile:
   * other processes' (tests of other engineers run at the same time), so
   * reported apart and not counted as a change by this run.
   */
  readonly otherNamespaces: string[];
}

export function diffRoot(before: RootSnapshot, after: RootSnapshot, prefix: string): RootDiff {
  const changes: string[] = [];
  const otherNamespaces: string[] = [];
  for (const label of Object.keys(before)) {
    const a = new Set((before[label] ?? '').split('\n'));
    const b = new Set((after[label] ?? '').split('\n'));
    let gone = [...a].filter((l) => !b.has(l)).map((l) => `-${l}`);
    let added = [...b].filter((l) => !a.has(l)).map((l) => `+${l}`);
    if (label === 'ip netns list') {
      const others = (l: string) => !l.slice(1).startsWith(prefix);
      otherNamespaces.push(...gone.filter(others), ...added.filter(others));
      gone = gone.filter((l) => !others(l));
      added = added.filter((l) => !others(l));
    }
    if (gone.length + added.length > 0) changes.push(`${label}: ${[...gone, ...added].join(' | ')}`);
  }
  return { changes, otherNamespaces };
}
