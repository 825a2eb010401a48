import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
// Measures the two places the embedded DNS server could listen (docs/names.md,
// "Where it listens, and why there"), as root, after a build:
//   node scripts/measure/dns-placement.mjs
// Docker's way needs a socket opened inside each sandbox: from Node, a process
// in it (nsenter + node). netmode's way adds a control round trip to connect():
// connect to a network with the server against one without it (dns: false).
// Everything happens in a throwaway namespace fxmh, deleted at the end.
import { createNetMode } from '../../packages/core/dist/index.js';
import { registerBridgeDriver } from '../../packages/driver-bridge/dist/index.js';
const host = 'fxmh';
execFileSync('ip', ['netns', 'add', host]);
execFileSync('ip', ['-n', host, 'link', 'set', 'lo', 'up']);
const dir = mkdtempSync('/tmp/fxm-');
writeFileSync(`${dir}/resolv.conf`, 'nameserver 10.231.254.1\n');
const med = (a) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)];
try {
  // Docker's way needs a socket opened inside each sandbox: from Node, a process in it.
  const spawnTimes = [];
  for (let i = 0; i < 15; i++) {
    const t = performance.now();
    const r = spawnSync('nsenter', [
      `--net=/run/netns/${host}`,
      '--',
      process.execPath,
      '-e',
      "require('dgram').createSocket('udp4').bind(0,'127.0.0.1',()=>process.exit(0))",
    ]);
    if (r.status !== 0) throw new Error('spawn failed');
    spawnTimes.push(performance.now() - t);
  }
  const netmode = createNetMode({
    drivers: [(c) => registerBridgeDriver(c, { bip: '10.251.0.1/24' })],
    hostNetns: { kind: 'named', name: host },
    stateDir: `${dir}/state`,
    namePrefix: 'fxm',
    hostResolvConf: `${dir}/resolv.conf`,
  });
  await netmode.createNetwork({ name: 'withdns', driver: 'bridge', subnets: [{ subnet: '10.251.1.0/24' }] });
  await netmode.createNetwork({ name: 'nodns', driver: 'bridge', subnets: [{ subnet: '10.251.2.0/24' }], dns: false });
  await netmode.connect('warm', 'withdns');
  const times = { withdns: [], nodns: [] };
  for (let i = 0; i < 40; i++) {
    for (const net of ['nodns', 'withdns']) {
      const t = performance.now();
      await netmode.connect(`c${i}${net}`, net);
      times[net].push(performance.now() - t);
    }
  }
  console.log(
    JSON.stringify({ nsenterNodeSocketMs: med(spawnTimes), connectNoDnsMs: med(times.nodns), connectWithDnsMs: med(times.withdns) }),
  );
  for (let i = 0; i < 40; i++) for (const net of ['nodns', 'withdns']) await netmode.disconnect(`c${i}${net}`);
  await netmode.disconnect('warm');
  await netmode.stopNameServer();
  await netmode.removeNetwork('withdns');
  await netmode.removeNetwork('nodns');
} finally {
  execFileSync('ip', ['netns', 'del', host]);
  rmSync(dir, { recursive: true, force: true });
}
