/**
 * The netmode demo: connects a `none` and a `host` endpoint inside a
 * throwaway host namespace, shows what each container would see, and removes
 * everything. Nothing in the machine's own namespace is touched.
 *
 * Run it as root: `bash scripts/demo.sh` (bootstraps and builds first), or
 * `node examples/dist/demo.js` after a build.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ExecaRunner,
  NetnsSandboxService,
  createNetMode,
  formatNetns,
  isNetModeError,
  netnsPath,
  type Endpoint,
  type NetnsRef,
} from '@netmode/core';
import { registerHostDriver } from '@netmode/driver-host';
import { registerNoneDriver } from '@netmode/driver-none';

interface Row {
  mode: string;
  container: string;
  sandbox: string;
  owned: string;
  view: string;
  setupMs: string;
  teardownMs: string;
}

const runner = new ExecaRunner();
const sandboxes = new NetnsSandboxService(runner);

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('The demo changes network namespaces and must run as root.');
    process.exit(1);
  }
  // Every object the demo makes carries this prefix, so a look at `ip netns`
  // shows at once what is ours.
  const prefix = `nd${randomBytes(2).toString('hex').slice(0, 3)}`;
  const stateDir = await mkdtemp(join(tmpdir(), 'netmode-demo-'));
  let hostNetns: NetnsRef | undefined;
  try {
    hostNetns = await sandboxes.create(`${prefix}host`);
    // An "outside world" namespace joined to the host by a veth, so the host
    // has an interface of its own that a host-mode container can see.
    const outside = await sandboxes.create(`${prefix}ext`);
    await runIp(hostNetns, 'link', 'add', `${prefix}ext0`, 'up', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netnsPath(outside));
    await runIp(hostNetns, 'address', 'add', '10.231.255.1/30', 'dev', `${prefix}ext0`);
    await runIp(outside, 'address', 'add', '10.231.255.2/30', 'dev', 'eth0');
    await runIp(outside, 'link', 'set', 'eth0', 'up');
    console.log(
      `netmode demo: throwaway host namespace ${formatNetns(hostNetns)} (link ${prefix}ext0 to ${formatNetns(outside)}), state in ${stateDir}\n`,
    );

    const netmode = createNetMode({
      drivers: [registerNoneDriver, registerHostDriver],
      hostNetns,
      stateDir,
      namePrefix: prefix,
    });
    let processes = 0;
    netmode.events.on('command:exec', () => (processes += 1));
    netmode.events.on('warning', (w) => console.log(`  warning ${w.code}: ${w.message}`));

    const rows: Row[] = [];
    for (const [container, mode, options] of [
      ['box-none', 'none', {}],
      ['box-host', 'host', { ports: [{ hostPort: 8080, containerPort: 80 }] }],
    ] as const) {
      const started = performance.now();
      const endpoint = await netmode.connect(container, mode, options);
      const setupMs = performance.now() - started;
      console.log(`connected ${container} in ${mode} mode: sandbox ${formatNetns(endpoint.netns)}`);
      const view = await containerView(endpoint);
      rows.push({
        mode,
        container,
        sandbox: formatNetns(endpoint.netns),
        owned: endpoint.ownsNetns ? 'yes' : 'no',
        view,
        setupMs: setupMs.toFixed(1),
        teardownMs: '',
      });
    }

    const [hostEndpoint, hostStat, ownStat] = await Promise.all([
      netmode.inspectEndpoint('box-host'),
      stat(netnsPath(hostNetns)),
      stat('/proc/self/ns/net'),
    ]);
    const hostInode = (await stat(netnsPath(hostEndpoint.netns))).ino;
    console.log(
      `\nbox-host's namespace is the host namespace: inode ${hostInode} ${hostInode === hostStat.ino ? '=' : '!='} ${hostStat.ino}` +
        ` (the demo's own namespace is ${ownStat.ino}, untouched)`,
    );
    const noneEndpoint = await netmode.inspectEndpoint('box-none');
    const routes = (await runIp(noneEndpoint.netns, '-4', 'route', 'show')).trim();
    console.log(`box-none's routes: ${routes === '' ? 'none' : routes}`);

    for (const row of rows) {
      const started = performance.now();
      await netmode.disconnect(row.container);
      row.teardownMs = (performance.now() - started).toFixed(1);
    }
    printTable(rows);
    const left = (await sandboxes.listNamed(prefix)).filter((name) => name !== `${prefix}host` && name !== `${prefix}ext`);
    console.log(`\n${processes} processes run; endpoints left: ${(await netmode.list()).length}; sandboxes left: ${left.length}`);
  } finally {
    if (hostNetns) await sandboxes.delete(hostNetns);
    for (const name of await sandboxes.listNamed(prefix)) await sandboxes.delete({ kind: 'named', name });
    await rm(stateDir, { recursive: true, force: true });
  }
  console.log('removed the throwaway namespaces and state; nothing is left.');
}

/** What a process in the sandbox sees: its interfaces and their state. */
async function containerView(endpoint: Endpoint): Promise<string> {
  const out = await runIp(endpoint.netns, '-brief', 'link', 'show');
  return out
    .trim()
    .split('\n')
    .map((line) => {
      const [name, state] = line.split(/\s+/);
      return `${name}(${state})`;
    })
    .join(' ');
}

async function runIp(netns: NetnsRef, ...args: string[]): Promise<string> {
  return (await runner.run({ command: 'ip', args, netns })).stdout;
}

function printTable(rows: Row[]): void {
  const header: Row = {
    mode: 'mode',
    container: 'container',
    sandbox: 'sandbox',
    owned: 'owned',
    view: 'interfaces seen inside',
    setupMs: 'connect ms',
    teardownMs: 'disconnect ms',
  };
  const keys = Object.keys(header) as (keyof Row)[];
  const widths = keys.map((k) => Math.max(...[header, ...rows].map((r) => r[k].length)));
  console.log('');
  for (const row of [header, ...rows])
    console.log(
      keys
        .map((k, i) => row[k].padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    );
}

main().catch((error: unknown) => {
  if (isNetModeError(error)) {
    console.error(`${error.code}: ${error.message}\n  ${error.hint}`);
  } else {
    console.error(error);
  }
  process.exit(1);
});
