import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIREWALL, NETWORK_DRIVER, NftablesFirewall, type DependencyContainer } from '@netmode/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGlobalOptions } from '../src/args/global-options.js';
import { driverRegistrations } from '../src/drivers/driver-registrations.js';
import { netmode } from './support/cli.js';

/** A container that only records what is registered in it. */
function recordingContainer(): { container: DependencyContainer; registered: { token: unknown; provider: Record<string, unknown> }[] } {
  const registered: { token: unknown; provider: Record<string, unknown> }[] = [];
  const container = {
    register: (token: unknown, provider: Record<string, unknown>) => registered.push({ token, provider }),
    // What a driver's registration may look up: the instance's firewall (the bridge checks it can do icc: false).
    resolve: (token: unknown) => {
      if (token === FIREWALL) return new NftablesFirewall();
      throw new Error(`nothing registered for ${String(token)}`);
    },
  };
  return { container: container as unknown as DependencyContainer, registered };
}

const failure = async (promise: Promise<unknown>): Promise<{ code: string; message: string }> => {
  try {
    await promise;
  } catch (error) {
    return { code: (error as { code: string }).code, message: (error as Error).message };
  }
  throw new Error('expected a failure');
};

describe('--driver-package and NETMODE_DRIVER_PACKAGES', () => {
  it('collect repeated and comma-separated specifiers; the flag wins over the variable', () => {
    expect(parseGlobalOptions(['--driver-package', 'a', '--driver-package=b, c', 'ps']).globals.driverPackages).toEqual(['a', 'b', 'c']);
    expect(parseGlobalOptions(['ps'], { NETMODE_DRIVER_PACKAGES: './x.js,@scope/y' }).globals.driverPackages).toEqual([
      './x.js',
      '@scope/y',
    ]);
    expect(parseGlobalOptions(['--driver-package', 'a', 'ps'], { NETMODE_DRIVER_PACKAGES: 'b' }).globals.driverPackages).toEqual(['a']);
    expect(parseGlobalOptions(['ps']).globals.driverPackages).toBeUndefined();
    expect(() => parseGlobalOptions(['--driver-package', 'a,,b', 'ps'])).toThrow(
      '--driver-package must be a comma-separated list without empty entries',
    );
    expect(() => parseGlobalOptions(['ps'], { NETMODE_DRIVER_PACKAGES: 'a,' })).toThrow(
      'NETMODE_DRIVER_PACKAGES must be a comma-separated list',
    );
  });
});

describe('the drivers the CLI registers', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'netmode-driver-packages-'));
    // A third party's registration function; it records what netmode gave it.
    await writeFile(
      join(dir, 'probe-driver.mjs'),
      `export function registerProbeDriver(container, options) { container.register(Symbol.for('netmode.NetworkDriver'), { useValue: { name: 'probe', options } }); }
export const unrelated = 1;\n`,
    );
    await writeFile(join(dir, 'no-register.mjs'), 'export function register() {}\nexport const driver = {};\n');
    await writeFile(join(dir, 'two-registers.mjs'), 'export function registerADriver() {}\nexport function registerBDriver() {}\n');
    await writeFile(join(dir, 'throws.mjs'), 'throw new Error("a broken module");\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('are the four built-in ones by default, the bridge with the global flags', async () => {
    const { globals } = parseGlobalOptions(['--bip', '10.1.0.1/24', '--mtu', '1400', '--icc=false', 'ps']);
    const registrations = await driverRegistrations(globals);
    expect(registrations.drivers).toHaveLength(4);
    expect(registrations.firewalls).toHaveLength(0);
    const { container, registered } = recordingContainer();
    for (const register of registrations.drivers) register(container);
    expect(registered.filter((r) => r.token === NETWORK_DRIVER)).toHaveLength(4);
    const bridgeOptions = registered
      .map((r) => r.provider['useValue'])
      .find((v) => (v as { gateway?: string } | undefined)?.gateway !== undefined);
    expect(bridgeOptions).toMatchObject({ gateway: '10.1.0.1', subnet: '10.1.0.0/24', mtu: 1400, icc: false });
  });

  it('are those of the packages named instead, a path taken from the current directory, without options', async () => {
    const registrations = await driverRegistrations(
      { stateDir: '/x', debug: false, mtu: 1400, driverPackages: ['./probe-driver.mjs'] },
      dir,
    );
    const { container, registered } = recordingContainer();
    for (const register of registrations.drivers) register(container);
    expect(registered).toEqual([{ token: NETWORK_DRIVER, provider: { useValue: { name: 'probe', options: undefined } } }]);
    // By absolute path, and beside a built-in package.
    expect(
      (await driverRegistrations({ stateDir: '/x', debug: false, driverPackages: ['@netmode/driver-none', join(dir, 'probe-driver.mjs')] }))
        .drivers,
    ).toHaveLength(2);
  });

  it.each([
    ['./missing.mjs', 'ERR_DRIVER_PACKAGE_NOT_FOUND', 'driver package ./missing.mjs: no such file'],
    ['netmode-no-such-driver-package', 'ERR_DRIVER_PACKAGE_NOT_FOUND', "Cannot find package 'netmode-no-such-driver-package'"],
    [
      './no-register.mjs',
      'ERR_DRIVER_PACKAGE_INVALID',
      'exports no function named register…Driver or register…Firewall (it exports: driver, register)',
    ],
    [
      './two-registers.mjs',
      'ERR_DRIVER_PACKAGE_INVALID',
      'exports 2 register…Driver functions (registerADriver, registerBDriver), not one',
    ],
    ['./throws.mjs', 'ERR_DRIVER_PACKAGE_INVALID', 'driver package ./throws.mjs failed to load: a broken module'],
  ])('%s: %s', async (specifier, code, message) => {
    const error = await failure(
      driverRegistrations({ stateDir: '/x', debug: false, driverPackages: ['./probe-driver.mjs', specifier] }, dir),
    );
    expect(error.code).toBe(code);
    expect(error.message).toContain(message);
  });

  it('reports the first package that cannot be loaded, in the order given', async () => {
    const error = await failure(
      driverRegistrations({ stateDir: '/x', debug: false, driverPackages: ['./throws.mjs', './missing.mjs'] }, dir),
    );
    expect(error.code).toBe('ERR_DRIVER_PACKAGE_INVALID');
  });

  it('at the shell: the code, a hint, status 2 (125 for run), and nothing touched', async () => {
    const stateDir = join(dir, 'state');
    const ls = await netmode(['--state-dir', stateDir, '--driver-package', join(dir, 'missing.mjs'), 'network', 'ls']);
    expect(ls.code).toBe(2);
    expect(ls.stderr).toMatch(
      /^ERR_DRIVER_PACKAGE_NOT_FOUND: driver package .*missing\.mjs: no such file .*\n {2}hint: Check --driver-package/,
    );
    const run = await netmode(['--state-dir', stateDir, 'run', '--', 'true'], {
      env: { NETMODE_DRIVER_PACKAGES: join(dir, 'no-register.mjs') },
    });
    expect(run.code).toBe(125);
    expect(run.stderr).toMatch(/^ERR_DRIVER_PACKAGE_INVALID: .*\n {2}hint: .*register…Driver/);
    await expect(rm(stateDir)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
