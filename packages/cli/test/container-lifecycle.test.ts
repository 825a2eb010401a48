import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, NetModeError } from '@netmode/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerRecord } from '../src/containers/container-store.js';
import { runDetached, startContainer, stopContainer } from '../src/containers/lifecycle.js';
import { FakeNetMode, fakeSession } from './support/fake-netmode.js';

const NETWORKS = { front: { prefix: '10.1.0' }, back: { prefix: '10.2.0' } };

/** A container whose process is gone (a start time no process has), connected as `run -d` left it. */
function exited(name: string, change: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    name,
    networks: ['front', 'back'],
    attachments: [
      { name: 'front', ip: '10.1.0.9', aliases: ['www'] },
      { name: 'back', aliases: [], gwPriority: 2 },
    ],
    ports: [{ hostPort: 8080, containerPort: 80 }],
    names: { hostname: 'h1' },
    command: ['sleep', '100'],
    detached: true,
    createdAt: '2026-01-01T00:00:00.000Z',
    process: { pid: 1, start: 'not-this-one' },
    ...change,
  };
}

describe('stop and start (a fake SDK)', () => {
  let stateDir: string;
  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'netmode-lifecycle-'));
  });
  afterAll(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  async function connected(name: string, change: Partial<ContainerRecord> = {}) {
    const netmode = new FakeNetMode(NETWORKS);
    const { session } = fakeSession(netmode, stateDir);
    await session.containers.reserve(exited(name, change));
    await netmode.connect(name, 'front', {});
    await netmode.connect(name, 'back', {});
    netmode.calls.length = 0;
    return { netmode, session };
  }

  it('stop releases the endpoints once and says so in the record', async () => {
    const { netmode, session } = await connected('web');
    expect(await stopContainer(session, 'web', 1000)).toBe('not-running');
    expect(await stopContainer(session, 'web', 1000)).toBe('not-running');
    expect(netmode.calls).toEqual(['disconnect web']);
    expect((await session.containers.get('web'))?.stoppedAt).toEqual(expect.any(String));
  });

  it('stop removes a run --rm container, but not for a restart', async () => {
    const { session } = await connected('tmp', { autoRemove: true });
    await stopContainer(session, 'tmp', 1000, { restart: true });
    expect((await session.containers.get('tmp'))?.stoppedAt).toEqual(expect.any(String));
    await stopContainer(session, 'tmp', 1000);
    expect(await session.containers.get('tmp')).toBeUndefined();
  });

  it('start connects with the recorded settings; a refused connect undoes the others and leaves it stopped', async () => {
    const { netmode, session } = await connected('db');
    await stopContainer(session, 'db', 1000);
    const stopped = await session.containers.get('db');
    netmode.calls.length = 0;
    netmode.failConnect.set('back', new NetModeError(ErrorCode.PORT_ALLOCATED, 'port 8080 is taken'));
    await expect(startContainer(session, 'db')).rejects.toMatchObject({ code: 'ERR_PORT_ALLOCATED' });
    expect(netmode.calls).toEqual([
      'connect db front {"hostname":"h1","name":"db","ports":[{"hostPort":8080,"containerPort":80}],"ip":"10.1.0.9","aliases":["www"]}',
      'connect db back {"hostname":"h1","name":"db","gwPriority":2}',
      'disconnect db front',
    ]);
    const after = await session.containers.get('db');
    expect(after).toMatchObject({ stoppedAt: expect.any(String), attachments: stopped?.attachments, ports: stopped?.ports });
    expect(after?.supervisor).toBeUndefined();
    expect(after?.process).toBeUndefined();
  });

  it('a container that exited by itself has its endpoints released before start connects it again', async () => {
    const { netmode, session } = await connected('self');
    netmode.failConnect.set('front', new NetModeError(ErrorCode.INVALID_CONFIG, 'stop here, before a process starts'));
    await expect(startContainer(session, 'self')).rejects.toThrow('stop here');
    expect(netmode.calls.slice(0, 2)).toEqual(['disconnect self', expect.stringMatching(/^connect self front /)]);
  });

  it('run --net container:NAME refuses a CLI container that is not running, before any connect', async () => {
    const { netmode, session } = await connected('target');
    await expect(
      runDetached(session, { name: 'side', networks: [{ name: 'container:target', aliases: [] }], command: ['true'] }),
    ).rejects.toMatchObject({
      code: 'ERR_CONTAINER_NOT_RUNNING',
    });
    expect(netmode.calls).toEqual([]);
    expect(await session.containers.get('side')).toBeUndefined();
  });
});
