import { spawn, type ChildProcess } from 'node:child_process';
import { netnsPath, resolveToolPath, type NetnsRef } from '@netmode/core';
import { integrationAvailable } from '@netmode/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBE, assertBuilt, type Result } from './support/cli.js';
import { ADDR, createWorld, probeOf, type World } from './support/world.js';

// Host ports as Docker keeps them (#16): every published port is bound in
// the host namespace by netmode's companion, so a port a host process has
// is refused and a published one cannot be taken; and the userland proxy
// (--userland-proxy) serves the paths the kernel's DNAT cannot take.

const node = process.execPath;

/** Runs `script` with node in `netns`; resolves to the JSON line it prints. */
function inNetns(netns: NetnsRef, script: string): Promise<{ ok: boolean; error?: string; answer?: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(resolveToolPath('nsenter'), [`--net=${netnsPath(netns)}`, '--', node, '-e', script]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('close', () => {
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as { ok: boolean; error?: string });
      } catch {
        reject(new Error(`no JSON from ${script}: ${out}`));
      }
    });
  });
}

/** Whether a host process can bind `port` (TCP, or UDP) on every address of `netns`. */
const bindOnHost = (netns: NetnsRef, protocol: 'tcp' | 'udp', port: number) =>
  inNetns(
    netns,
    protocol === 'tcp'
      ? `const s=require('net').createServer();s.once('error',e=>{console.log(JSON.stringify({ok:false,error:e.code}));process.exit(0)});s.listen(${port},'0.0.0.0',()=>{console.log(JSON.stringify({ok:true}));process.exit(0)})`
      : `const s=require('dgram').createSocket('udp4');s.once('error',e=>{console.log(JSON.stringify({ok:false,error:e.code}));process.exit(0)});s.bind(${port},'0.0.0.0',()=>{console.log(JSON.stringify({ok:true}));process.exit(0)})`,
  );

/** Asks the probe server at `host:port` from inside `netns` (TCP or UDP): it answers with the client's address as it sees it. */
const askFrom = (netns: NetnsRef, mode: 'tcp-ask' | 'udp-ask', host: string, port: number) =>
  new Promise<{ ok: boolean; answer?: string; error?: string }>((resolve, reject) => {
    const child = spawn(resolveToolPath('nsenter'), [`--net=${netnsPath(netns)}`, '--', node, PROBE, mode, host, String(port)]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('close', () => resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}') as { ok: boolean }));
  });

const ok = (result: Result, what: string) => expect(result.code, `${what}: ${result.stderr}`).toBe(0);

/** Retries an ask until it is answered (a server in a container needs a moment to listen). */
async function answered(ask: () => Promise<{ ok: boolean; answer?: string; error?: string }>) {
  let seen = await ask();
  for (let i = 0; i < 40 && !seen.ok; i += 1) seen = await ask();
  return seen;
}

describe.skipIf(!integrationAvailable())('host ports held and the userland proxy, through the CLI', () => {
  beforeAll(() => assertBuilt());

  for (const backend of ['nftables', 'iptables'] as const) {
    describe(`${backend}, the kernel path`, () => {
      let world: World;
      const hostProcesses: ChildProcess[] = [];
      beforeAll(async () => {
        world = await createWorld(['--firewall', backend]);
      });
      afterAll(async () => {
        for (const child of hostProcesses) if (child.exitCode === null) child.kill('SIGKILL');
        await world?.cleanup();
      });
      // The ruleset less iptables-save's dated comments.
      const ruleset = async () =>
        (
          await world.fixture.runner.run({
            command: backend === 'nftables' ? 'nft' : 'iptables-save',
            args: backend === 'nftables' ? ['list', 'ruleset'] : [],
            netns: world.fixture.hostNetns,
          })
        ).stdout
          .split('\n')
          .filter((line) => !line.startsWith('#'))
          .join('\n');

      it('refuses a port a host process listens on, naming it, changes nothing, and the host service keeps its traffic', async () => {
        // The default network exists first, so "nothing changed" is about the publish alone.
        ok(await world.cli(['run', '-d', '--name', 'first', '--', node, PROBE, 'sleep']), 'run first');
        const host = spawn(resolveToolPath('nsenter'), [`--net=${netnsPath(world.fixture.hostNetns)}`, '--', node, PROBE, 'serve', '8090']);
        hostProcesses.push(host);
        await new Promise<void>((resolve) => host.stdout.on('data', (d: Buffer) => d.toString().includes('"ready"') && resolve()));
        const before = await ruleset();
        const sandboxes = await world.sandboxes();

        const refused = await world.cli(['run', '-d', '--name', 'web', '-p', '8090:80', '--', node, PROBE, 'serve', '80']);
        expect(refused.code).toBe(125);
        expect(refused.stderr).toMatch(
          new RegExp(`^ERR_PORT_ALLOCATED: host port 8090/tcp on every address is in use by node \\(pid ${host.pid}\\)`),
        );
        expect(await ruleset()).toBe(before);
        expect(await world.sandboxes()).toEqual(sandboxes);
        expect((await world.cli(['ps', '--json'])).stdout).not.toContain('"web"');
        // The outside world still reaches the host's own service (it answers with the asker's address).
        expect(await world.fromOutside('tcp-ask', ADDR.host, '8090')).toMatchObject({ ok: true, answer: ADDR.ext });
        host.kill('SIGKILL');
      });

      it("holds every published port (TCP and UDP) while the container lives, and lets them go when it is removed; the container has Docker's sysctls", async () => {
        ok(
          await world.cli(['run', '-d', '--name', 'held', '-p', '8091:80', '-p', '8092:80/udp', '--', node, PROBE, 'serve', '80']),
          'run held',
        );
        expect(await answered(() => world.fromOutside('tcp-ask', ADDR.host, '8091'))).toMatchObject({ ok: true, answer: ADDR.ext });
        expect(await world.fromOutside('udp-ask', ADDR.host, '8092')).toMatchObject({ ok: true, answer: ADDR.ext });
        // Docker's container sysctls and eth0's broadcast, as the container's own process sees them.
        const inside = await world.cli([
          'exec',
          'held',
          '--',
          'sh',
          '-c',
          'cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/net/ipv4/ping_group_range /proc/sys/net/ipv6/conf/all/disable_ipv6; ip -4 -o address show dev eth0',
        ]);
        ok(inside, 'exec held');
        expect(inside.stdout).toMatch(/^0\n0\s+2147483647\n1\n.* inet 172\.17\.\d+\.\d+\/16 brd 172\.17\.255\.255 /);
        expect(await bindOnHost(world.fixture.hostNetns, 'tcp', 8091)).toEqual({ ok: false, error: 'EADDRINUSE' });
        expect(await bindOnHost(world.fixture.hostNetns, 'udp', 8092)).toEqual({ ok: false, error: 'EADDRINUSE' });
        ok(await world.cli(['rm', '-f', 'held']), 'rm held');
        expect(await bindOnHost(world.fixture.hostNetns, 'tcp', 8091)).toEqual({ ok: true });
        expect(await bindOnHost(world.fixture.hostNetns, 'udp', 8092)).toEqual({ ok: true });
      });
    });

    describe(`${backend}, --userland-proxy with --ip-forward=false and an existing bridge (-b)`, () => {
      let world: World;
      beforeAll(async () => {
        world = await createWorld([]);
        // An existing bridge of the "administrator's", with its address, before netmode's first use.
        const host = world.fixture.hostNetns;
        await world.fixture.ip(host, 'link', 'add', 'admbr0', 'type', 'bridge');
        await world.fixture.ip(host, 'address', 'add', '10.247.0.1/24', 'dev', 'admbr0');
        await world.fixture.ip(host, 'link', 'set', 'admbr0', 'up');
        world.globals.push('--firewall', backend, '--userland-proxy', '--ip-forward=false', '-b', 'admbr0');
      });
      afterAll(async () => world?.cleanup());

      it('a container reaches a published port through the gateway and the host address, and the host through 127.0.0.1', async () => {
        ok(await world.cli(['run', '-d', '--name', 'web', '-p', '8093:80', '--', node, PROBE, 'serve', '80']), 'run web');
        ok(await world.cli(['run', '-d', '--name', 'client', '--', node, PROBE, 'sleep']), 'run client');
        const forward = await world.fixture.runner.run({
          command: 'cat',
          args: ['/proc/sys/net/ipv4/ip_forward'],
          netns: world.fixture.hostNetns,
        });
        expect(forward.stdout.trim()).toBe('0');
        const localnet = await world.fixture.runner.run({
          command: 'cat',
          args: ['/proc/sys/net/ipv4/conf/admbr0/route_localnet'],
          netns: world.fixture.hostNetns,
        });
        expect(localnet.stdout.trim()).toBe('0');
        for (const target of ['10.247.0.1', ADDR.host]) {
          const seen = probeOf(await world.cli(['exec', 'client', '--', node, PROBE, 'tcp-ask', target, '8093']));
          // Through the proxy the container sees the gateway as the client.
          expect(seen, `client -> ${target}:8093`).toMatchObject({ ok: true, answer: '10.247.0.1' });
        }
        expect(await answered(() => askFrom(world.fixture.hostNetns, 'tcp-ask', '127.0.0.1', 8093))).toMatchObject({
          ok: true,
          answer: '10.247.0.1',
        });
      });
    });
  }

  describe('--iptables=false --userland-proxy: published ports with no firewall rule at all', () => {
    let world: World;
    beforeAll(async () => {
      world = await createWorld(['--iptables=false', '--userland-proxy']);
    });
    afterAll(async () => world?.cleanup());

    it('the outside world reaches a TCP and a UDP port, and no rule of netmode exists', async () => {
      ok(
        await world.cli(['run', '-d', '--name', 'web', '-p', '8094:80', '-p', '8094:80/udp', '--', node, PROBE, 'serve', '80']),
        'run web',
      );
      const tcp = await answered(() => world.fromOutside('tcp-ask', ADDR.host, '8094'));
      expect(tcp).toMatchObject({ ok: true, answer: '172.17.0.1' });
      expect(await world.fromOutside('udp-ask', ADDR.host, '8094')).toMatchObject({ ok: true, answer: '172.17.0.1' });
      const nft = await world.fixture.runner.run({ command: 'nft', args: ['list', 'ruleset'], netns: world.fixture.hostNetns });
      expect(nft.stdout).not.toContain('netmode');
      const saved = await world.fixture.runner.run({ command: 'iptables-save', args: [], netns: world.fixture.hostNetns });
      expect(saved.stdout).not.toContain('NETMODE');
    });
  });
});
