import { execFile } from 'node:child_process';
import { createNetMode, netnsPath, resolveToolPath, type NetnsRef, type NetworkManager } from '@netmode/core';
import { createNetnsFixture, integrationAvailable, type NetnsFixture } from '@netmode/core/testing';
import { registerNoneDriver } from '@netmode/driver-none';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerBridgeDriver } from '../src/index.js';

// Docker's container settings (issue #16, "Inside the container"): in every
// sandbox netmode makes, unprivileged ports from 0, ping for every group,
// IPv6 off (IPv4-only containers), and eth0's address with its broadcast.

/** Runs `argv` in `netns` (as root, or as nobody) and resolves with its exit status and output. */
function inSandbox(netns: NetnsRef, argv: readonly string[], asNobody = false): Promise<{ code: number; out: string }> {
  const user = asNobody ? [resolveToolPath('setpriv'), '--reuid=65534', '--regid=65534', '--clear-groups', '--'] : [];
  return new Promise((resolve) => {
    execFile(resolveToolPath('nsenter'), [`--net=${netnsPath(netns)}`, '--', ...user, ...argv], (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, out: stdout + stderr }),
    );
  });
}

const sysctl = async (netns: NetnsRef, key: string) => (await inSandbox(netns, ['sysctl', '-n', key])).out.trim();
const bindPort80 = `require('net').createServer().listen(80, '127.0.0.1', () => process.exit(0)).on('error', (e) => { console.log(e.code); process.exit(3); })`;

describe.skipIf(!integrationAvailable())('the sandboxes netmode makes have Docker container settings', () => {
  let fixture: NetnsFixture;
  let netmode: NetworkManager;
  let keeping: NetworkManager;

  beforeAll(async () => {
    fixture = await createNetnsFixture();
    const drivers = [
      (c: Parameters<typeof registerNoneDriver>[0]) => registerBridgeDriver(c, { bip: '10.243.0.1/24' }),
      registerNoneDriver,
    ];
    netmode = createNetMode({ drivers, hostNetns: fixture.hostNetns, stateDir: fixture.stateDir, namePrefix: fixture.prefix });
    // A second instance on its own state, told to leave IPv6 as the kernel makes it.
    keeping = createNetMode({
      drivers,
      hostNetns: fixture.hostNetns,
      stateDir: `${fixture.stateDir}-keeping`,
      namePrefix: fixture.prefix,
      sandboxSysctls: { 'net.ipv6.conf.all.disable_ipv6': null, 'net.ipv6.conf.default.disable_ipv6': null },
    });
  });
  afterAll(async () => {
    await fixture?.cleanup();
    await import('node:fs/promises').then((fs) => fs.rm(`${fixture.stateDir}-keeping`, { recursive: true, force: true }));
  });

  it.each(['bridge', 'none'])('%s: ports from 0 and ping for everyone, no IPv6 at all', async (mode) => {
    const endpoint = await netmode.connect(`sd-${mode}`, mode);
    expect(await sysctl(endpoint.netns, 'net.ipv4.ip_unprivileged_port_start')).toBe('0');
    expect(await sysctl(endpoint.netns, 'net.ipv4.ping_group_range')).toMatch(/^0\s+2147483647$/);
    // An unprivileged process binds port 80, as in a Docker container.
    expect(await inSandbox(endpoint.netns, [process.execPath, '-e', bindPort80], true)).toMatchObject({ code: 0 });
    // Not even ::1 or a link-local address.
    expect((await inSandbox(endpoint.netns, ['ip', '-6', '-o', 'address', 'show'])).out.trim()).toBe('');
    await netmode.disconnect(`sd-${mode}`);
  });

  it("bridge: eth0's address carries its subnet's broadcast", async () => {
    const endpoint = await netmode.connect('sd-brd', 'bridge');
    const shown = (await inSandbox(endpoint.netns, ['ip', '-4', '-o', 'address', 'show', 'dev', 'eth0'])).out;
    expect(shown).toContain(`inet ${endpoint.addresses[0]} brd 10.243.0.255`);
    await netmode.disconnect('sd-brd');
  });

  it('a namespace the runtime made is left as it is, and a setting given as null is left too', async () => {
    const own = await fixture.createNetns('own');
    const before = await sysctl(own, 'net.ipv4.ip_unprivileged_port_start');
    await netmode.connect('sd-own', 'bridge', { netns: own });
    expect(await sysctl(own, 'net.ipv4.ip_unprivileged_port_start')).toBe(before);
    expect(before).toBe('1024');
    await netmode.disconnect('sd-own');

    const kept = await keeping.connect('sd-kept', 'none');
    expect(await sysctl(kept.netns, 'net.ipv4.ip_unprivileged_port_start')).toBe('0');
    expect((await inSandbox(kept.netns, ['ip', '-6', '-o', 'address', 'show', 'dev', 'lo'])).out).toContain('::1/128');
    await keeping.disconnect('sd-kept');
  });

  it('refuses a setting that is not a network sysctl, or not a number, before anything is made', () => {
    const refused: Record<string, string>[] = [{ 'kernel.hostname': '1' }, { 'net.ipv4.ip_forward': 'yes' }, { 'net/../../kernel/x': '1' }];
    for (const sandboxSysctls of refused) {
      expect(() => createNetMode({ drivers: [registerNoneDriver], stateDir: fixture.stateDir, sandboxSysctls })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_CONFIG' }),
      );
    }
  });
});
