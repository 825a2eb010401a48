import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, readFileSync, readdirSync } from 'node:fs';
import { release } from 'node:os';
import {
  ExecaRunner,
  HOST_NETNS,
  NetnsSandboxService,
  errorMessage,
  formatNetns,
  isNetModeError,
  namedNetns,
  resolveToolPath,
  type NetnsRef,
} from '@netmode/core';
import { ExitCode } from '../cli-error.js';
import type { DoctorInput } from '../inputs/doctor.js';
import type { Session } from '../session.js';

/** One finding of `netmode doctor`. */
export interface Check {
  readonly check: string;
  readonly status: 'ok' | 'warn' | 'fail';
  readonly detail: string;
}

const CAP_NET_ADMIN = 12;
const CAP_SYS_ADMIN = 21;

const runner = new ExecaRunner({ timeoutMs: 10_000 });

// The bridge-family features icc: false uses (a port set, MAC and address
// checks against concatenated sets, a forward rule), tried in a scratch table.
const BRIDGE_FAMILY_PROBE = [
  'add table bridge nmdoctor',
  'add set bridge nmdoctor ports { type ifname; }',
  'add set bridge nmdoctor macs { type ifname . ether_addr; }',
  'add set bridge nmdoctor addrs { type ifname . ipv4_addr; }',
  'add chain bridge nmdoctor prerouting { type filter hook prerouting priority filter; policy accept; }',
  'add chain bridge nmdoctor forward { type filter hook forward priority filter; policy accept; }',
  'add rule bridge nmdoctor prerouting iifname @ports iifname . ether saddr != @macs drop',
  'add rule bridge nmdoctor prerouting iifname @ports ether type ip iifname . ip saddr != @addrs drop',
  'add rule bridge nmdoctor prerouting iifname @ports ether type arp iifname . arp saddr ip != @addrs drop',
  'add rule bridge nmdoctor forward iifname @ports oifname @ports ether type != ip drop',
  '',
].join('\n');

async function output(command: string, args: string[], netns?: NetnsRef): Promise<string> {
  return (await runner.run({ command, args, ...(netns ? { netns } : {}) })).stdout.trim();
}

function privileges(): Check {
  if (process.getuid?.() === 0) return { check: 'privileges', status: 'ok', detail: 'running as root' };
  const status = readFileSync('/proc/self/status', 'utf8');
  const hex = /^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? '0';
  const caps = BigInt(`0x${hex}`);
  const has = (bit: number) => (caps & (1n << BigInt(bit))) !== 0n;
  const missing = [has(CAP_NET_ADMIN) ? '' : 'CAP_NET_ADMIN', has(CAP_SYS_ADMIN) ? '' : 'CAP_SYS_ADMIN'].filter(Boolean);
  return missing.length === 0
    ? { check: 'privileges', status: 'ok', detail: 'CAP_NET_ADMIN and CAP_SYS_ADMIN' }
    : { check: 'privileges', status: 'fail', detail: `not root, and missing ${missing.join(' and ')}` };
}

async function tools(firewall: string): Promise<Check[]> {
  const wanted: [string, string[], 'fail' | 'warn', string][] = [
    ['ip', ['-V'], 'fail', 'every mode'],
    ['nsenter', ['--version'], 'fail', 'entering namespaces'],
    ...(['unshare', 'mount', 'umount', 'findmnt'] as const).map((tool): [string, string[], 'fail', string] => [
      tool,
      ['--version'],
      'fail',
      "a container's own mount and UTS namespaces (run)",
    ]),
    ['nft', ['--version'], firewall === 'nftables' ? 'fail' : 'warn', 'the nftables firewall'],
    ['iptables', ['--version'], firewall === 'iptables' ? 'fail' : 'warn', 'the iptables firewall'],
    ['sysctl', ['--version'], 'warn', 'reading sysctls'],
    ['conntrack', ['--version'], 'warn', 'flushing stale UDP flows of changed port mappings'],
  ];
  const checks: Check[] = [];
  for (const [tool, args, severity, use] of wanted) {
    try {
      const path = resolveToolPath(tool);
      const version = (await output(tool, args).catch(() => '')).split('\n')[0] ?? '';
      checks.push({ check: `tool ${tool}`, status: 'ok', detail: `${path}${version ? ` (${version})` : ''}` });
    } catch (error) {
      checks.push({ check: `tool ${tool}`, status: severity, detail: `${errorMessage(error)}; needed for ${use}` });
    }
  }
  return checks;
}

/** Tries the kernel features netmode uses, in a scratch namespace made and deleted here. */
async function kernel(): Promise<Check[]> {
  const checks: Check[] = [{ check: 'kernel', status: 'ok', detail: `Linux ${release()}` }];
  const sandboxes = new NetnsSandboxService(runner);
  const name = `nmdoctor${randomBytes(3).toString('hex')}`;
  let scratch: NetnsRef | undefined;
  const attempt = async (check: string, ok: string, work: () => Promise<unknown>, severity: 'fail' | 'warn' = 'fail') => {
    try {
      await work();
      checks.push({ check, status: 'ok', detail: ok });
    } catch (error) {
      const stderr = isNetModeError(error) && typeof error.context['stderr'] === 'string' ? `: ${error.context['stderr'].trim()}` : '';
      checks.push({ check, status: severity, detail: `${errorMessage(error)}${stderr}` });
    }
  };
  await attempt('network namespaces', `created and deleted a scratch namespace ${name}`, async () => {
    scratch = await sandboxes.create(name);
  });
  if (!scratch) return checks;
  const ns = scratch;
  try {
    await attempt('bridge and veth', 'made a bridge and a veth pair on it in the scratch namespace', async () => {
      await output('ip', ['link', 'add', 'nmdoc-br', 'type', 'bridge'], ns);
      await output('ip', ['link', 'add', 'nmdoc-v0', 'master', 'nmdoc-br', 'up', 'type', 'veth', 'peer', 'name', 'nmdoc-v1'], ns);
    });
    await attempt(
      'nftables in the kernel',
      'made and deleted an nft table in the scratch namespace',
      async () => {
        await output('nft', ['add', 'table', 'inet', 'nmdoctor'], ns);
        await output('nft', ['delete', 'table', 'inet', 'nmdoctor'], ns);
      },
      'warn',
    );
    await attempt(
      'iptables nat table',
      'listed the nat table in the scratch namespace',
      () => output('iptables', ['-t', 'nat', '-S'], ns),
      'warn',
    );
    // What icc: false stands on, with either backend: non-IPv4 frames between
    // isolated ports are dropped in an nft bridge-family table, and IPv4 is
    // dropped by the ip rules, which see bridged traffic only through
    // br_netfilter, turned on per bridge (never through the namespace's sysctl).
    await attempt(
      'nft bridge family',
      'made a bridge-family table with the sets and rules icc: false uses, in the scratch namespace',
      async () => {
        await runner.run({ command: 'nft', args: ['-f', '-'], netns: ns, input: BRIDGE_FAMILY_PROBE });
        await output('nft', ['delete', 'table', 'bridge', 'nmdoctor'], ns);
      },
      'warn',
    );
    await attempt(
      'br_netfilter',
      'active; a scratch bridge kept nf_call_iptables on, as netmode sets it on the bridges of icc: false networks',
      async () => {
        // br_netfilter registers net.bridge.* in a namespace only once it is active.
        await output('sysctl', ['-n', 'net.bridge.bridge-nf-call-iptables'], ns).catch((error: unknown) => {
          throw new Error(
            `not active (no net.bridge.bridge-nf-call-iptables: ${errorMessage(error)}); icc: false networks need it: modprobe br_netfilter`,
          );
        });
        await output('ip', ['link', 'set', 'dev', 'nmdoc-br', 'type', 'bridge', 'nf_call_iptables', '1'], ns);
        const links = JSON.parse(await output('ip', ['-json', '-details', 'link', 'show', 'dev', 'nmdoc-br'], ns)) as {
          linkinfo?: { info_data?: { nf_call_iptables?: unknown } };
        }[];
        const value = links[0]?.linkinfo?.info_data?.nf_call_iptables;
        if (value !== 1) throw new Error(`the bridge option nf_call_iptables reads ${String(value)} after setting it to 1`);
      },
      'warn',
    );
  } finally {
    await sandboxes.delete(ns).catch((error: unknown) => {
      checks.push({
        check: 'network namespaces',
        status: 'fail',
        detail: `could not delete the scratch namespace ${name}: ${errorMessage(error)}`,
      });
    });
  }
  return checks;
}

/** Reads (never writes) the host namespace's forwarding and firewall state. */
async function hostNamespace(session: Session): Promise<Check[]> {
  const { hostNetns } = session.globals;
  const ref = hostNetns === undefined ? HOST_NETNS : namedNetns(hostNetns);
  const where = hostNetns === undefined ? 'this namespace' : formatNetns(ref);
  if (hostNetns !== undefined && !existsSync(`/run/netns/${hostNetns}`)) {
    return [{ check: 'host namespace', status: 'fail', detail: `--host-netns ${hostNetns}: /run/netns/${hostNetns} does not exist` }];
  }
  const checks: Check[] = [{ check: 'host namespace', status: 'ok', detail: where }];
  try {
    const forward = await output('sysctl', ['-n', 'net.ipv4.ip_forward'], ref);
    const willWrite = session.globals.ipForward !== false;
    checks.push(
      forward === '1'
        ? { check: 'ip_forward', status: 'ok', detail: `1 in ${where}` }
        : {
            check: 'ip_forward',
            status: willWrite ? 'ok' : 'warn',
            detail: willWrite
              ? `0 in ${where}; netmode turns it on at the first bridge connect (--ip-forward=false to leave it)`
              : `0 in ${where} and --ip-forward=false: containers cannot reach beyond the host`,
          },
    );
  } catch (error) {
    checks.push({ check: 'ip_forward', status: 'warn', detail: `could not read: ${errorMessage(error)}` });
  }
  try {
    const value = await output('sysctl', ['-n', 'net.bridge.bridge-nf-call-iptables'], ref);
    checks.push({
      check: 'bridge-nf-call-iptables',
      status: 'ok',
      detail: `${value} in ${where}; netmode never writes it, and icc: false does not depend on it (netmode turns br_netfilter on for those networks' bridges alone)`,
    });
  } catch (error) {
    checks.push({
      check: 'bridge-nf-call-iptables',
      status: 'warn',
      detail: `could not read in ${where} (${errorMessage(error)}): br_netfilter is not active there, so icc: false networks cannot be set up`,
    });
  }
  try {
    const tables = await output('nft', ['list', 'tables'], ref);
    checks.push({
      check: 'nft tables',
      status: 'ok',
      detail:
        tables
          .split('\n')
          .filter(Boolean)
          .map((l) => l.replace(/^table /, ''))
          .join(', ') || 'none',
    });
    const chains = await output('nft', ['list', 'chains'], ref);
    checks.push(...firewallManagers(tables, chains, where));
  } catch (error) {
    checks.push({ check: 'nft tables', status: 'warn', detail: `could not list: ${errorMessage(error)}` });
    checks.push(...firewallManagers('', '', where));
  }
  return checks;
}

function running(comm: string): boolean {
  try {
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm) return true;
      } catch {
        // The process ended while we looked.
      }
    }
  } catch {
    // No /proc: nothing to say.
  }
  return false;
}

function installed(paths: string[]): string | undefined {
  return paths.find((p) => {
    try {
      accessSync(p, constants.F_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Other managers of the same firewall and forwarding settings, found by binaries, units, processes and rules. */
function firewallManagers(tables: string, chains: string, where: string): Check[] {
  const units = (name: string) => [
    `/lib/systemd/system/${name}.service`,
    `/usr/lib/systemd/system/${name}.service`,
    `/etc/systemd/system/${name}.service`,
  ];
  const managers: { name: string; files: string[]; process?: string; rules: RegExp; extra?: () => string | undefined }[] = [
    {
      name: 'firewalld',
      files: ['/usr/sbin/firewalld', ...units('firewalld')],
      process: 'firewalld',
      rules: /table inet firewalld|firewalld/,
    },
    {
      name: 'ufw',
      files: ['/usr/sbin/ufw', ...units('ufw')],
      rules: /chain ufw-/,
      extra: () =>
        existsSync('/etc/ufw/ufw.conf') && /^ENABLED=yes/m.test(readFileSync('/etc/ufw/ufw.conf', 'utf8'))
          ? 'enabled in /etc/ufw/ufw.conf'
          : undefined,
    },
    { name: 'docker', files: ['/usr/bin/dockerd', '/usr/sbin/dockerd', ...units('docker')], process: 'dockerd', rules: /chain DOCKER/ },
    {
      name: 'podman/netavark',
      files: ['/usr/lib/podman/netavark', '/usr/libexec/podman/netavark', '/usr/bin/podman'],
      process: 'netavark',
      rules: /NETAVARK|table inet netavark/,
    },
    { name: 'CNI plugins', files: ['/usr/lib/cni/bridge', '/opt/cni/bin/bridge'], rules: /chain CNI-/ },
  ];
  const text = `${tables}\n${chains}`;
  return managers.map((m) => {
    const file = installed(m.files);
    const active = [
      m.process && running(m.process) ? `${m.process} is running` : '',
      m.rules.test(text) ? `its rules are in ${where}` : '',
      m.extra?.() ?? '',
    ].filter(Boolean);
    if (active.length > 0) {
      return {
        check: `other manager: ${m.name}`,
        status: 'warn',
        detail: `${active.join('; ')}: it may change the same firewall and forwarding settings`,
      } as Check;
    }
    return {
      check: `other manager: ${m.name}`,
      status: 'ok',
      detail: file ? `installed (${file}), not active here` : 'not installed',
    } as Check;
  });
}

function stateDir(session: Session): Check {
  const dir = session.globals.stateDir;
  if (!existsSync(dir)) return { check: 'state directory', status: 'ok', detail: `${dir} (created on first use, mode 0700)` };
  try {
    accessSync(dir, constants.W_OK);
    return { check: 'state directory', status: 'ok', detail: `${dir} (writable)` };
  } catch {
    return { check: 'state directory', status: 'fail', detail: `${dir} is not writable` };
  }
}

/** `netmode doctor [--json]` */
export async function doctorCommand(session: Session, { options }: DoctorInput): Promise<number> {
  const firewall = session.globals.firewall ?? 'nftables';
  const checks: Check[] = await session.out.progress('checking', async () => [
    privileges(),
    { check: 'firewall backend', status: 'ok', detail: firewall },
    ...(await tools(firewall)),
    ...(await kernel()),
    ...(await hostNamespace(session)),
    stateDir(session),
  ]);
  const failed = checks.filter((c) => c.status === 'fail').length;
  const warned = checks.filter((c) => c.status === 'warn').length;
  if (options.json) {
    session.out.json({ ok: failed === 0, checks });
  } else {
    session.out.table(
      ['CHECK', 'STATUS', 'DETAIL'],
      checks.map((c) => [c.check, c.status, c.detail]),
    );
    session.out.line(`\n${checks.length - failed - warned} ok, ${warned} warnings, ${failed} failures`);
  }
  return failed === 0 ? ExitCode.OK : ExitCode.CHECK_FAILED;
}
