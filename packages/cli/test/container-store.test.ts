import { MemoryStateStore } from '@netmode/core';
import { describe, expect, it } from 'vitest';
import { ContainerStore, type ContainerRecord } from '../src/containers/container-store.js';

const created = '2026-01-01T00:00:00.000Z';

/** A record as netmode 0.1 wrote it: one network, under `mode`. */
const oneModeRecord = { name: 'old', mode: 'container:web', command: ['sleep', '1'], detached: true, createdAt: created };

describe('the container store', () => {
  it('keeps the networks run was given, in order', async () => {
    const store = new MemoryStateStore();
    const containers = new ContainerStore(store);
    const record: ContainerRecord = { name: 'web', networks: ['front', 'back'], command: ['true'], detached: false, createdAt: created };
    await containers.reserve(record);
    expect(await containers.get('web')).toEqual(record);
    expect(await store.get('cli/containers/web')).toEqual(record);
  });

  it('reads a record written with one mode as a list of that one network, and rewrites it so at its next update', async () => {
    const store = new MemoryStateStore();
    await store.transaction(async (tx) => tx.put('cli/containers/old', oneModeRecord));
    const containers = new ContainerStore(store);
    const { mode: _mode, ...rest } = oneModeRecord;
    expect(await containers.get('old')).toEqual({ ...rest, networks: ['container:web'] });
    expect((await containers.list()).records).toEqual([{ ...rest, networks: ['container:web'] }]);
    await containers.update('old', { startedAt: created });
    expect(await store.get('cli/containers/old')).toEqual({ ...rest, networks: ['container:web'], startedAt: created });
  });

  it('refuses a record that names no network, or an empty list, naming the field', async () => {
    const store = new MemoryStateStore();
    const { mode: _mode, ...noNetwork } = oneModeRecord;
    await store.transaction(async (tx) => {
      tx.put('cli/containers/old', noNetwork);
      tx.put('cli/containers/empty', { ...noNetwork, name: 'empty', networks: [] });
    });
    const containers = new ContainerStore(store);
    await expect(containers.get('old')).rejects.toMatchObject({
      code: 'ERR_STATE_CORRUPT',
      message: expect.stringContaining('it names no network'),
    });
    await expect(containers.get('empty')).rejects.toMatchObject({
      code: 'ERR_STATE_CORRUPT',
      message: expect.stringContaining('field networks'),
    });
    expect((await containers.list()).corrupt.map((c) => c.key).sort()).toEqual(['cli/containers/empty', 'cli/containers/old']);
  });
});
