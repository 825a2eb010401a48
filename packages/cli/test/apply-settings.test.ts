import { MemoryStateStore, type NetworkManager } from '@netmode/core';
import { describe, expect, it } from 'vitest';
import { keepFirstSettings, settleSettings, type SettingsUse } from '../src/settings/apply-settings.js';
import type { Settings } from '../src/settings/daemon-settings.js';
import { SETTINGS_KEY, holdSettings } from '../src/settings/settings-record.js';

interface Fake {
  endpoints: { containerId: string; network: string }[];
  networks: { name: string; predefined: boolean }[];
  calls: string[];
}

/** A manager that knows only what settleSettings asks of it. */
function fakeManager(fake: Fake): NetworkManager {
  return {
    list: async () => fake.endpoints,
    listNetworks: async () => fake.networks,
    resetPredefinedNetwork: async (name: string) => {
      fake.calls.push(`reset ${name}`);
      return true;
    },
    gc: async () => {
      fake.calls.push('gc');
      return {};
    },
  } as unknown as NetworkManager;
}

const PREDEFINED = [
  { name: 'bridge', predefined: true },
  { name: 'host', predefined: true },
];

async function run(store: MemoryStateStore, given: Settings, fake: Fake, use: SettingsUse = 'apply') {
  const notes: string[] = [];
  const { inForce } = await settleSettings(store, given, {
    command: 'run',
    use,
    managerFor: async (settings) => {
      fake.calls.push(`manager ${JSON.stringify(settings)}`);
      return fakeManager(fake);
    },
    check: async () => {},
    note: (text) => notes.push(text),
  });
  return { inForce, notes };
}

describe('settleSettings: store, apply or refuse', () => {
  const fresh = (): Fake => ({ endpoints: [], networks: [...PREDEFINED], calls: [] });

  it('stores the settings of the first command that may change something, and not those of a reader', async () => {
    const store = new MemoryStateStore();
    expect((await run(store, { mtu: 1400 }, fresh(), 'read')).inForce).toEqual({ mtu: 1400 });
    expect(await store.get(SETTINGS_KEY)).toBeUndefined();
    expect((await run(store, { mtu: 1400 }, fresh())).inForce).toEqual({ mtu: 1400 });
    expect(await store.get(SETTINGS_KEY)).toMatchObject({ settings: { mtu: 1400 } });
    expect((await run(store, {}, fresh())).inForce).toEqual({ mtu: 1400 });
  });

  it('in a state directory that holds nothing yet, leaves the first settings to be kept once something is created', async () => {
    const store = new MemoryStateStore();
    const ctx = {
      command: 'run',
      use: 'apply' as const,
      managerFor: async () => fakeManager(fresh()),
      check: async () => {},
      note: () => {},
    };
    expect(await settleSettings(store, { mtu: 1400 }, { ...ctx, firstLater: true })).toEqual({ inForce: { mtu: 1400 }, pending: true });
    expect(await store.get(SETTINGS_KEY)).toBeUndefined();
    expect(await keepFirstSettings(store, { mtu: 1400 })).toEqual([]);
    expect(await store.get(SETTINGS_KEY)).toMatchObject({ settings: { mtu: 1400 } });
    // Two first commands at once: the second learns that the first kept others.
    expect((await keepFirstSettings(store, { mtu: 1300 })).map((c) => [c.spec.long, c.inForce, c.given])).toEqual([['mtu', 1400, 1300]]);
    expect(await store.get(SETTINGS_KEY)).toMatchObject({ settings: { mtu: 1400 } });
  });

  it('applies a default-network change while nothing uses it: the default network is reset by a manager of the old settings', async () => {
    const store = new MemoryStateStore();
    await run(store, { mtu: 1400 }, fresh());
    const fake = { ...fresh(), endpoints: [{ containerId: 'h', network: 'host' }] };
    const { inForce, notes } = await run(store, { mtu: 1300 }, fake);
    expect(inForce).toEqual({ mtu: 1300 });
    expect(fake.calls).toEqual(['manager {"mtu":1400}', 'reset bridge']);
    expect(notes).toEqual([expect.stringMatching(/^--mtu: 1400 in force, 1300 given: applied/)]);
    expect(await store.get(SETTINGS_KEY)).toMatchObject({ settings: { mtu: 1300 } });
  });

  it('refuses a default-network change while a container uses it, naming the setting, both values and the containers', async () => {
    const store = new MemoryStateStore();
    await run(store, { mtu: 1400 }, fresh());
    const fake = { ...fresh(), endpoints: [{ containerId: 'a', network: 'bridge' }] };
    await expect(run(store, { mtu: 1300, icc: false }, fake)).rejects.toMatchObject({
      code: 'ERR_SETTINGS_CONFLICT',
      message: expect.stringMatching(/^--icc: true in force, false given; the default network bridge is in use \(containers a\)/),
    });
    expect(fake.calls).toEqual(['manager {"mtu":1400}']);
    expect(await store.get(SETTINGS_KEY)).toMatchObject({ settings: { mtu: 1400 } });
  });

  it('refuses a fixed setting while any container or user-defined network exists; applies it once none does', async () => {
    const store = new MemoryStateStore();
    await run(store, {}, fresh());
    const busy = { ...fresh(), networks: [...PREDEFINED, { name: 'n1', predefined: false }] };
    await expect(run(store, { firewall: 'iptables' }, busy)).rejects.toThrow(
      /^--firewall: nftables in force, iptables given; it cannot change while anything exists \(networks n1\)/,
    );
    const idle = fresh();
    expect((await run(store, { firewall: 'iptables' }, idle)).inForce).toEqual({ firewall: 'iptables' });
    expect(idle.calls).toEqual(['manager {}', 'reset bridge', 'reset host', 'gc']);
  });

  it('stores and applies nothing the check refuses (a bad value, a missing namespace)', async () => {
    const store = new MemoryStateStore();
    const refuse = { command: 'run', use: 'apply' as const, managerFor: async () => fakeManager(fresh()), note: () => {} };
    const bad = async () => {
      throw new Error('bip: bad');
    };
    await expect(settleSettings(store, { bip: 'x' }, { ...refuse, check: bad })).rejects.toThrow('bip: bad');
    expect(await store.get(SETTINGS_KEY)).toBeUndefined();
    await run(store, { mtu: 1400 }, fresh());
    const fake = fresh();
    await expect(
      settleSettings(store, { mtu: 1300 }, { ...refuse, managerFor: async () => fakeManager(fake), check: bad }),
    ).rejects.toThrow();
    expect(fake.calls).toEqual([]);
    expect(await store.get(SETTINGS_KEY)).toMatchObject({ settings: { mtu: 1400 } });
  });

  it('applies ip-forward at once, with no manager', async () => {
    const store = new MemoryStateStore();
    await run(store, { ipForward: false }, fresh());
    const fake = fresh();
    expect((await run(store, { ipForward: true }, fake)).inForce).toEqual({ ipForward: true });
    expect(fake.calls).toEqual([]);
  });

  it('a reader refuses any change; nothing is written', async () => {
    const store = new MemoryStateStore();
    await run(store, { mtu: 1400 }, fresh());
    await expect(run(store, { mtu: 1300 }, fresh(), 'read')).rejects.toThrow(/^--mtu: 1400 in force, 1300 given; run only reads/);
    expect(await store.get(SETTINGS_KEY)).toMatchObject({ settings: { mtu: 1400 } });
  });

  it('refuses any change while a live netmode daemon holds the settings', async () => {
    const store = new MemoryStateStore();
    await run(store, {}, fresh());
    // This test's own process plays the daemon: alive.
    const { currentProcess } = await import('@netmode/core');
    await holdSettings(store, currentProcess(), {});
    await expect(run(store, { mtu: 1300 }, fresh())).rejects.toThrow(/netmode daemon \(PID \d+\) serves with the settings in force/);
    await holdSettings(store, currentProcess(), {}, true);
    expect((await run(store, { mtu: 1300 }, fresh())).inForce).toEqual({ mtu: 1300 });
  });
});
