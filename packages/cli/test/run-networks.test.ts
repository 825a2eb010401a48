import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, NetModeError } from '@netmode/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNetworkAttachment, type NetworkAttachment } from '../src/args/network-attachment.js';
import { runDetached } from '../src/containers/lifecycle.js';
import { run } from '../src/declarations/run.js';
import { runNameSettings, runNetworks } from '../src/inputs/run.js';
import { parseCommand } from '../src/registry/parse-command.js';
import { FakeNetMode, fakeSession } from './support/fake-netmode.js';

const NETWORKS = { front: { prefix: '10.1.0' }, back: { prefix: '10.2.0' }, inner: { prefix: '10.3.0', internal: true } };

/** Networks without options of their own. */
const on = (...names: string[]): NetworkAttachment[] => names.map((name) => ({ name, aliases: [] }));

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
    await expect(runDetached(session, { name: 'web', networks: on('front', 'inner', 'back'), command: ['true'] })).rejects.toMatchObject({
      code: 'ERR_INVALID_CONFIG',
    });
    expect(netmode.calls).toEqual([
      'connect web front {"name":"web"}',
      'connect web inner {"name":"web"}',
      'connect web back {"name":"web"}',
      'disconnect web inner',
      'disconnect web front',
    ]);
    expect(await session.containers.get('web')).toBeUndefined();
    await expect(netmode.inspect('web')).rejects.toMatchObject({ code: 'ERR_ENDPOINT_NOT_FOUND' });
  });

  it('gives each network its own options, and -p to the first that is not internal', async () => {
    const netmode = new FakeNetMode(NETWORKS);
    netmode.failConnect.set('back', new NetModeError(ErrorCode.INVALID_CONFIG, 'stop here, before a process starts'));
    const { session } = fakeSession(netmode, stateDir);
    const spec = {
      name: 'db',
      networks: [
        { name: 'inner', ip: '10.3.0.9', mac: '02:00:00:00:00:09', aliases: ['database'], gwPriority: -1 },
        { name: 'front', aliases: [] },
        { name: 'back', aliases: ['b1', 'b2'], gwPriority: 3 },
      ],
      ports: [{ containerPort: 5432 }],
      command: ['true'],
    };
    await expect(runDetached(session, spec)).rejects.toThrow('stop here');
    expect(netmode.calls.slice(0, 3)).toEqual([
      'connect db inner {"name":"db","ip":"10.3.0.9","mac":"02:00:00:00:00:09","aliases":["database"],"gwPriority":-1}',
      'connect db front {"name":"db","ports":[{"containerPort":5432}]}',
      'connect db back {"name":"db","aliases":["b1","b2"],"gwPriority":3}',
    ]);
  });

  it("gives every connect the container's name settings and its name, which the SDK checks", async () => {
    const netmode = new FakeNetMode(NETWORKS);
    netmode.failConnect.set('back', new NetModeError(ErrorCode.INVALID_CONFIG, 'stop here, before a process starts'));
    const { session } = fakeSession(netmode, stateDir);
    const names = { hostname: 'h1', dns: ['10.9.0.53'], extraHosts: ['gw:host-gateway'] };
    await expect(runDetached(session, { name: 'n1', networks: on('front', 'back'), names, command: ['true'] })).rejects.toThrow(
      'stop here',
    );
    const given = '"hostname":"h1","dns":["10.9.0.53"],"extraHosts":["gw:host-gateway"],"name":"n1"';
    expect(netmode.calls).toEqual([`connect n1 front {${given}}`, `connect n1 back {${given}}`, 'disconnect n1 front']);
    expect(await session.containers.get('n1')).toBeUndefined();
  });

  it('publishes on the first network when every one is internal, so that its driver says why not', async () => {
    const netmode = new FakeNetMode({ inner: { prefix: '10.3.0', internal: true }, inner2: { prefix: '10.4.0', internal: true } });
    netmode.failConnect.set('inner', new NetModeError(ErrorCode.INVALID_CONFIG, 'ports: cannot be published on an internal network'));
    const { session } = fakeSession(netmode, stateDir);
    await expect(
      runDetached(session, { name: 'x', networks: on('inner', 'inner2'), ports: [{ containerPort: 80 }], command: ['true'] }),
    ).rejects.toThrow('internal network');
    expect(netmode.calls).toEqual(['connect x inner {"name":"x","ports":[{"containerPort":80}]}']);
    expect(await session.containers.get('x')).toBeUndefined();
  });
});

describe("run's --net values", () => {
  const globals = { stateDir: '/nonexistent/netmode-run-test', debug: false };
  const networksOf = (...args: string[]) => {
    const parsed = parseCommand(run, 'run', [...args, '--', 'true'], globals);
    if (parsed.help) throw new Error('help');
    return runNetworks(parsed.input.options);
  };

  it("take a network's name, or Docker's name=NETWORK,alias=…,ip=…,mac-address=…,gw-priority=…", () => {
    expect(parseNetworkAttachment('front')).toEqual({ name: 'front', aliases: [] });
    expect(parseNetworkAttachment('container:web')).toEqual({ name: 'container:web', aliases: [] });
    expect(parseNetworkAttachment('name=back,alias=db,alias=sql,ip=10.2.0.9,mac-address=02:00:00:00:00:09,gw-priority=-3')).toEqual({
      name: 'back',
      aliases: ['db', 'sql'],
      ip: '10.2.0.9',
      mac: '02:00:00:00:00:09',
      gwPriority: -3,
    });
  });

  it.each([
    ['alias=db', 'name is missing'],
    ['name=a,name=b', 'name is given twice'],
    ['name=a,ip', '"ip" is not key=value'],
    ['name=a,ip=', 'ip has no value'],
    ['name=a,gw-priority=high', 'gw-priority "high" is not a whole number'],
    ['name=a,ip6=fd00::9', 'ip6 is not supported by netmode'],
    ['name=a,driver-opt=x=y', 'driver-opt is not supported by netmode'],
    ['name=a,colour=blue', 'unknown key "colour"'],
  ])('refuse %s: %s', (value, why) => {
    expect(() => parseNetworkAttachment(value)).toThrow(`--net ${JSON.stringify(value)}: ${why}; expected name=NETWORK`);
  });

  it('are bridge when none is given, and give the first network --ip, --mac-address, --network-alias and --gw-priority', () => {
    expect(networksOf()).toEqual([{ name: 'bridge', aliases: [] }]);
    expect(networksOf('--ip', '172.17.0.9', '--alias', 'x')).toEqual([{ name: 'bridge', aliases: ['x'], ip: '172.17.0.9' }]);
    expect(
      networksOf(
        '--net',
        'name=front,alias=f',
        '--network',
        'back',
        '--mac-address',
        '02:00:00:00:00:01',
        '--gw-priority=2',
        '--net',
        'name=inner,ip=10.3.0.4',
      ),
    ).toEqual([
      { name: 'front', aliases: ['f'], mac: '02:00:00:00:00:01', gwPriority: 2 },
      { name: 'back', aliases: [] },
      { name: 'inner', aliases: [], ip: '10.3.0.4' },
    ]);
  });

  it("refuse a network given twice, and a flag beside the same option in the first network's own syntax", () => {
    expect(() => networksOf('--net', 'front', '--net', 'name=front,ip=10.1.0.9')).toThrow(
      'netmode run: network "front" is given more than once',
    );
    expect(() => networksOf('--ip', '10.1.0.9', '--net', 'name=front,ip=10.1.0.8')).toThrow(
      'netmode run: --ip and ip= in --net front set one option of the first network; give one of them',
    );
    expect(() => networksOf('--alias', 'a', '--net', 'name=front,alias=b')).toThrow('--network-alias and alias=');
    expect(() => networksOf('--gw-priority', '1', '--net', 'name=front,gw-priority=2')).toThrow('--gw-priority and gw-priority=');
    expect(() => networksOf('--mac-address', '02:00:00:00:00:01', '--net', 'name=front,mac-address=02:00:00:00:00:02')).toThrow(
      '--mac-address and mac-address=',
    );
    // A later network's own options never conflict with the flags.
    expect(networksOf('--ip', '10.1.0.9', '--net', 'front', '--net', 'name=back,ip=10.2.0.9')).toHaveLength(2);
  });
});

describe("run's name flags", () => {
  const globals = { stateDir: '/nonexistent/netmode-run-test', debug: false };
  const namesOf = (...args: string[]) => {
    const parsed = parseCommand(run, 'run', [...args, '--', 'true'], globals);
    if (parsed.help) throw new Error('help');
    return runNameSettings(parsed.input.options);
  };

  it("are Docker's, collected as the SDK's name settings, and those left out stay out", () => {
    expect(namesOf()).toEqual({});
    expect(
      namesOf(
        '--hostname',
        'h1',
        '--domainname',
        'example.test',
        '--dns',
        '10.0.0.53',
        '--dns=10.0.0.54',
        '--dns-search',
        'a.test',
        '--dns-option',
        'ndots:2',
        '--dns-opt',
        'edns0',
        '--add-host',
        'db:10.0.0.5',
        '--add-host',
        'gw:host-gateway',
      ),
    ).toEqual({
      hostname: 'h1',
      domainname: 'example.test',
      dns: ['10.0.0.53', '10.0.0.54'],
      dnsSearch: ['a.test'],
      dnsOptions: ['ndots:2', 'edns0'],
      extraHosts: ['db:10.0.0.5', 'gw:host-gateway'],
    });
  });
});
