import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, NetModeError } from '@netmode/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDetached } from '../src/containers/lifecycle.js';
import { FakeNetMode, fakeSession } from './support/fake-netmode.js';

const NETWORKS = { front: { prefix: '10.1.0' }, back: { prefix: '10.2.0' }, inner: { prefix: '10.3.0', internal: true } };

describe('run on several networks (a fake SDK)', () => {
  let stateDir: string;
  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'netmode-run-'));
  });
  afterAll(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  it('connects each network in order, and undoes only the connects it made when one fails', async () => {
    const netmode = new FakeNetMode(NETWORKS);
    netmode.failConnect.set('back', new NetModeError(ErrorCode.INVALID_CONFIG, 'mode: back is refused'));
    const { session } = fakeSession(netmode, stateDir);
    await expect(runDetached(session, { name: 'web', networks: ['front', 'inner', 'back'], command: ['true'] })).rejects.toMatchObject({
      code: 'ERR_INVALID_CONFIG',
    });
    expect(netmode.calls).toEqual([
      'connect web front {}',
      'connect web inner {}',
      'connect web back {}',
      'disconnect web inner',
      'disconnect web front',
    ]);
    expect(await session.containers.get('web')).toBeUndefined();
    await expect(netmode.inspect('web')).rejects.toMatchObject({ code: 'ERR_ENDPOINT_NOT_FOUND' });
  });

  it('gives --ip, --mac-address, --network-alias and --gw-priority to the first network, and -p to the first that is not internal', async () => {
    const netmode = new FakeNetMode(NETWORKS);
    netmode.failConnect.set('back', new NetModeError(ErrorCode.INVALID_CONFIG, 'stop here, before a process starts'));
    const { session } = fakeSession(netmode, stateDir);
    const spec = {
      name: 'db',
      networks: ['inner', 'front', 'back'],
      ports: [{ containerPort: 5432 }],
      ip: '10.3.0.9',
      mac: '02:00:00:00:00:09',
      aliases: ['database'],
      gwPriority: -1,
      command: ['true'],
    };
    await expect(runDetached(session, spec)).rejects.toThrow('stop here');
    expect(netmode.calls.slice(0, 3)).toEqual([
      'connect db inner {"ip":"10.3.0.9","mac":"02:00:00:00:00:09","aliases":["database"],"gwPriority":-1}',
      'connect db front {"ports":[{"containerPort":5432}]}',
      'connect db back {}',
    ]);
  });

  it('publishes on the first network when every one is internal, so that its driver says why not', async () => {
    const netmode = new FakeNetMode({ inner: { prefix: '10.3.0', internal: true }, inner2: { prefix: '10.4.0', internal: true } });
    netmode.failConnect.set('inner', new NetModeError(ErrorCode.INVALID_CONFIG, 'ports: cannot be published on an internal network'));
    const { session } = fakeSession(netmode, stateDir);
    await expect(
      runDetached(session, { name: 'x', networks: ['inner', 'inner2'], ports: [{ containerPort: 80 }], command: ['true'] }),
    ).rejects.toThrow('internal network');
    expect(netmode.calls).toEqual(['connect x inner {"ports":[{"containerPort":80}]}']);
    expect(await session.containers.get('x')).toBeUndefined();
  });
});
