import { usage } from '../cli-error.js';
import { COMMANDS } from '../declarations/index.js';
import { eachCommand } from '../registry/command-spec.js';
import { DEFAULT_STATE_DIR, GLOBAL_OPTIONS, type MutableGlobals, type Spec } from './global-option-specs.js';
import type { GlobalOptions } from './globals.js';

export {
  DAEMON_SETTINGS,
  DEFAULT_STATE_DIR,
  GLOBAL_OPTIONS,
  type DaemonSettingSpec,
  type SettingChange,
  type SettingValue,
} from './global-option-specs.js';

/** What {@link parseGlobalOptions} returns. */
export interface ParsedGlobals {
  readonly globals: GlobalOptions;
  /** The subcommand and everything after it. */
  readonly rest: string[];
  readonly help: boolean;
  readonly version: boolean;
  /**
   * The flags given that are settings of the SDK (`--host-netns`,
   * `--firewall`, the bridge's, …) rather than of this client: with `-H`
   * they belong to `netmode daemon`, and a command refuses them.
   */
  readonly sdkFlags: readonly string[];
}

/**
 * Parses the options before the subcommand. Booleans take Docker's
 * spelling: `--icc` or `--icc=true|false` (never `--icc false`, whose
 * `false` would be the subcommand). Values: `--bip CIDR` or `--bip=CIDR`,
 * `-b NAME` or `-bNAME`. Throws a usage error naming the flag or variable.
 */
export function parseGlobalOptions(argv: readonly string[], env: NodeJS.ProcessEnv = {}): ParsedGlobals {
  const fromFlags = new Map<Spec, unknown>();
  let index = 0;
  for (; index < argv.length; index += 1) {
    const token = argv[index] as string;
    if (token === '--') {
      index += 1;
      break;
    }
    if (!token.startsWith('-') || token === '-') break;
    let spec: Spec | undefined;
    let inline: string | undefined;
    if (token.startsWith('--')) {
      const eq = token.indexOf('=');
      const name = eq < 0 ? token.slice(2) : token.slice(2, eq);
      inline = eq < 0 ? undefined : token.slice(eq + 1);
      spec = GLOBAL_OPTIONS.find((s) => s.long === name);
      if (!spec) throw usage(`unknown global option --${name}${hintForMisplaced(name)}`);
    } else {
      spec = GLOBAL_OPTIONS.find((s) => s.short === token[1]);
      if (!spec) throw usage(`unknown global option ${token.slice(0, 2)}`);
      if (token.length > 2) inline = token.slice(2);
    }
    const flag = token.startsWith('--') ? `--${spec.long}` : `-${spec.short}`;
    let raw: string;
    if (spec.kind === 'boolean') {
      if (inline === undefined) {
        const next = argv[index + 1];
        if (next === 'true' || next === 'false') throw usage(`write ${flag}=${next}: a boolean option takes its value after '='`);
        raw = 'true';
      } else raw = inline;
    } else if (inline !== undefined) {
      raw = inline;
    } else {
      const next = argv[index + 1];
      if (next === undefined) throw usage(`${flag} needs a value (${spec.arg ?? 'VALUE'})`);
      raw = next;
      index += 1;
    }
    const converted = convert(spec, raw, flag);
    // A repeated list option adds to the list; any other repeated option is replaced.
    fromFlags.set(
      spec,
      spec.kind === 'list' ? [...((fromFlags.get(spec) as string[] | undefined) ?? []), ...(converted as string[])] : converted,
    );
  }

  const fromEnv = new Map<Spec, unknown>();
  for (const spec of GLOBAL_OPTIONS) {
    const raw = spec.env === undefined ? undefined : env[spec.env];
    if (raw === undefined || raw === '') continue;
    fromEnv.set(spec, convert(spec, raw, spec.env as string));
  }

  const value = (key: Spec['key']): { value: unknown; source: 'flag' | 'env' | undefined } => {
    const spec = GLOBAL_OPTIONS.find((s) => s.key === key) as Spec;
    if (fromFlags.has(spec)) return { value: fromFlags.get(spec), source: 'flag' };
    if (fromEnv.has(spec)) return { value: fromEnv.get(spec), source: 'env' };
    return { value: undefined, source: undefined };
  };

  const globals: MutableGlobals = { stateDir: DEFAULT_STATE_DIR, debug: false };
  for (const { key } of GLOBAL_OPTIONS) {
    // iptables is folded into firewall below; help and version are not settings.
    if (key === 'iptables' || key === 'help' || key === 'version') continue;
    const { value: v } = value(key);
    if (v !== undefined) (globals as Record<string, unknown>)[key] = v;
  }
  // --iptables=false is Docker's "no firewall"; it must not contradict --firewall.
  const iptables = value('iptables');
  const firewall = value('firewall');
  if (iptables.value === false) {
    if (firewall.value !== undefined && firewall.value !== 'none') {
      // A flag beats an environment variable; two of the same level contradict.
      if (firewall.source === iptables.source) {
        throw usage(
          `--iptables=false and --firewall ${String(firewall.value)} contradict each other (--iptables=false means --firewall none)`,
        );
      }
      if (iptables.source === 'flag') globals.firewall = 'none';
    } else {
      globals.firewall = 'none';
    }
  } else if (iptables.value === true && firewall.value === 'none' && iptables.source === firewall.source) {
    throw usage('--iptables=true and --firewall none contradict each other');
  }
  const sdkFlags = [...fromFlags.keys()].filter((spec) => spec.client !== true).map((spec) => `--${spec.long}`);
  return { globals, rest: argv.slice(index), help: value('help').value === true, version: value('version').value === true, sdkFlags };
}

function convert(spec: Spec, raw: string, where: string): unknown {
  switch (spec.kind) {
    case 'string':
      if (raw === '') throw usage(`${where} must not be empty`);
      return raw;
    case 'boolean':
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw usage(`${where} must be true or false, not ${JSON.stringify(raw)}`);
    case 'integer':
      if (!/^[0-9]+$/.test(raw)) throw usage(`${where} must be a whole number, not ${JSON.stringify(raw)}`);
      return Number(raw);
    case 'firewall':
      // Which backends exist is the SDK's registry's to say (a driver package may add one).
      if (!/^[a-z][a-z0-9-]{0,31}$/.test(raw))
        throw usage(`${where} must be the name of a firewall backend (nftables, iptables, none, …), not ${JSON.stringify(raw)}`);
      return raw;
    case 'list': {
      const entries = raw.split(',').map((entry) => entry.trim());
      if (entries.some((entry) => entry === ''))
        throw usage(`${where} must be a comma-separated list without empty entries, not ${JSON.stringify(raw)}`);
      return entries;
    }
  }
}

// A command's option given before the command: name the first command that takes it.
function hintForMisplaced(name: string): string {
  const owner = eachCommand(COMMANDS).find(([, spec]) =>
    Object.entries(spec.options).some(([long, o]) => long === name || (o.type === 'string' && o.aliases?.includes(name))),
  );
  return owner ? ` (it belongs after the subcommand, e.g. netmode ${owner[0]} --${name} …)` : '';
}
