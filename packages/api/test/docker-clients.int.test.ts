import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createNetMode, type NetworkManager } from '@netmode/core';
import { createNetnsFixture, integrationAvailable, type NetnsFixture } from '@netmode/core/testing';
import { registerBridgeDriver } from '@netmode/driver-bridge';
import { registerContainerDriver } from '@netmode/driver-container';
import { registerHostDriver } from '@netmode/driver-host';
import { registerNoneDriver } from '@netmode/driver-none';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createApiServer, listenAll, parseHost, type Listening } from '../src/index.js';

const run = promisify(execFile);
/** Debian's docker CLI (docker.io); /usr/local/bin/docker, when present, is a newer client we also try. */
const DEBIAN_DOCKER = '/usr/bin/docker';
const NEWER_DOCKER = '/usr/local/bin/docker';

/** One raw HTTP request over the unix socket: for bodies no client library would send. */
const raw = (socketPath: string, method: string, path: string, body: string, contentType = 'application/json') =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest(
      { socketPath, method, path, headers: { 'content-type': contentType, 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });

describe.skipIf(!integrationAvailable())('real Docker clients against the API server and a real NetworkManager', () => {
  let fixture: NetnsFixture;
  let netmode: NetworkManager;
  let server: FastifyInstance;
  let stop: Listening;
  let dir: string;
  let socket: string;
  let docker: Docker;

  /** Runs a docker CLI against the server, with a throwaway config directory. */
  const cli = async (binary: string, ...args: string[]) => {
    const { stdout } = await run(binary, ['-H', `unix://${socket}`, ...args], {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir, DOCKER_CONFIG: join(dir, 'docker-config') },
    });
    return stdout;
  };

  beforeAll(async () => {
    if (!existsSync(DEBIAN_DOCKER))
      throw new Error(`${DEBIAN_DOCKER} is missing: apt-get install docker.io (scripts/bootstrap.sh --test does)`);
    fixture = await createNetnsFixture({ prefixStart: 'na' });
    dir = await mkdtemp(join(tmpdir(), 'netmode-api-int-'));
    const resolvConf = join(dir, 'resolv.conf');
    await writeFile(resolvConf, 'nameserver 10.247.255.53\n');
    netmode = createNetMode({
      drivers: [(c) => registerBridgeDriver(c, { bip: '10.247.0.1/24' }), registerNoneDriver, registerHostDriver, registerContainerDriver],
      hostNetns: fixture.hostNetns,
      stateDir: fixture.stateDir,
      namePrefix: fixture.prefix,
      hostResolvConf: resolvConf,
    });
    server = createApiServer(netmode);
    socket = join(dir, 'netmode.sock');
    stop = await listenAll(server, [parseHost(`unix://${socket}`)]);
    docker = new Docker({ socketPath: socket });
  });
  afterAll(async () => {
    await stop?.();
    await netmode?.stopNameServer();
    await fixture?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("Debian's docker CLI talks to the server: version, network create, ls, inspect, rm", async () => {
    expect(await cli(DEBIAN_DOCKER, 'version', '--format', '{{.Server.APIVersion}} {{.Server.Os}}')).toBe('1.43 linux\n');

    const id = (
      await cli(DEBIAN_DOCKER, 'network', 'create', '--subnet', '10.247.1.0/24', '--gateway', '10.247.1.1', '--label', 'app=shop', 'dnet')
    ).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const record = await netmode.inspectNetwork('dnet');
    expect(record).toMatchObject({
      id,
      driver: 'bridge',
      subnets: [{ subnet: '10.247.1.0/24', gateway: '10.247.1.1' }],
      labels: { app: 'shop' },
    });

    const ls = await cli(DEBIAN_DOCKER, 'network', 'ls', '--no-trunc', '--format', '{{.ID}} {{.Name}} {{.Driver}} {{.Scope}}');
    const held = await netmode.listNetworks();
    expect(ls.trim().split('\n').sort()).toEqual(held.map((n) => `${n.id} ${n.name} ${n.driver} local`).sort());
    expect(await cli(DEBIAN_DOCKER, 'network', 'ls', '--filter', 'name=dne', '--format', '{{.Name}}')).toBe('dnet\n');

    const inspected = JSON.parse(await cli(DEBIAN_DOCKER, 'network', 'inspect', id.slice(0, 12))) as Record<string, unknown>[];
    expect(inspected).toHaveLength(1);
    expect(inspected[0]).toMatchObject({
      Name: 'dnet',
      Id: id,
      Scope: 'local',
      Driver: 'bridge',
      IPAM: { Driver: 'default', Config: [{ Subnet: '10.247.1.0/24', Gateway: '10.247.1.1' }] },
      Labels: { app: 'shop' },
    });

    expect(await cli(DEBIAN_DOCKER, 'network', 'rm', 'dnet')).toBe('dnet\n');
    expect((await netmode.listNetworks()).map((n) => n.name)).not.toContain('dnet');
    await expect(cli(DEBIAN_DOCKER, 'network', 'rm', 'bridge')).rejects.toThrow(/predefined network/);
    await expect(cli(DEBIAN_DOCKER, 'network', 'inspect', 'ghost')).rejects.toThrow(/No such network: ghost/);
  });

  it.skipIf(!existsSync(NEWER_DOCKER))('a newer docker CLI negotiates down to the server and lists the same networks', async () => {
    const ls = await cli(NEWER_DOCKER, 'network', 'ls', '--format', '{{.Name}}');
    expect(ls.trim().split('\n').sort()).toEqual((await netmode.listNetworks()).map((n) => n.name).sort());
  });

  it('dockerode lists, creates, inspects, connects, disconnects and removes networks, and receives the events', async () => {
    const stream = (await docker.getEvents({ filters: { type: ['network'] } })) as NodeJS.ReadableStream;
    const events: { Action: string; Actor: { ID: string; Attributes: Record<string, string> } }[] = [];
    let partial = '';
    stream.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') events.push(JSON.parse(line));
    });

    const created = (await docker.createNetwork({
      Name: 'dode',
      CheckDuplicate: true,
      IPAM: { Driver: 'default', Config: [{ Subnet: '10.247.2.0/24' }] },
    })) as Docker.Network;
    const list = await docker.listNetworks();
    expect(list.map((n) => n.Name).sort()).toEqual((await netmode.listNetworks()).map((n) => n.name).sort());
    const network = docker.getNetwork(created.id);
    await network.connect({ Container: 'app1', EndpointConfig: { IPAMConfig: { IPv4Address: '10.247.2.10' }, Aliases: ['db'] } });

    const endpoint = await netmode.inspectEndpoint('app1', 'dode');
    expect(endpoint.addresses).toEqual(['10.247.2.10/24']);
    expect(endpoint.aliases).toEqual(['db']);
    // The address is really there, in the sandbox netmode made.
    expect(await fixture.ip(endpoint.netns, '-o', '-4', 'addr', 'show', 'dev', 'eth0')).toContain('10.247.2.10/24');

    const inspected = (await network.inspect()) as {
      Name: string;
      Containers: Record<string, { IPv4Address: string; EndpointID: string }>;
    };
    expect(inspected.Name).toBe('dode');
    expect(inspected.Containers['app1']).toMatchObject({ IPv4Address: '10.247.2.10/24', EndpointID: endpoint.id });

    await expect(network.remove()).rejects.toMatchObject({ statusCode: 403 });
    await network.disconnect({ Container: 'app1' });
    await expect(netmode.inspect('app1')).rejects.toMatchObject({ code: 'ERR_ENDPOINT_NOT_FOUND' });
    await network.remove();
    expect((await netmode.listNetworks()).map((n) => n.name)).not.toContain('dode');

    await expect.poll(() => events.map((e) => e.Action), { timeout: 5000 }).toEqual(['create', 'connect', 'disconnect', 'destroy']);
    expect(events[1]?.Actor).toEqual({ ID: created.id, Attributes: { container: 'app1', name: 'dode', type: 'bridge' } });
    (stream as unknown as { destroy(): void }).destroy();

    // Prune removes only the unused user-defined networks.
    await docker.createNetwork({ Name: 'unused', IPAM: { Config: [{ Subnet: '10.247.3.0/24' }] } });
    expect(await docker.pruneNetworks()).toEqual({ NetworksDeleted: ['unused'] });
  });

  it('bad requests over the socket (malformed JSON, oversized bodies, unknown fields) change nothing', async () => {
    await netmode.createNetwork({ name: 'keep', driver: 'bridge', subnets: [{ subnet: '10.247.4.0/24' }] });
    await netmode.connect('held', 'keep');
    const before = { state: await fixture.stateFiles(), host: await fixture.snapshot() };
    const attempts: [string, string, string, number][] = [
      ['POST', '/v1.43/networks/create', '{"Name": "bad", ', 400],
      ['POST', '/v1.43/networks/create', JSON.stringify({ Name: 'bad', Labels: { pad: 'x'.repeat(2 * 1024 * 1024) } }), 413],
      ['POST', '/v1.43/networks/create', JSON.stringify({ Name: 'bad', Driver: 'bridge', Colour: 'red' }), 400],
      ['POST', '/v1.43/networks/create', JSON.stringify({ Name: 'bad', IPAM: { Config: [{ Subnet: '10.247.5.0/24', Typo: 1 }] } }), 400],
      ['POST', '/v1.43/networks/keep/connect', JSON.stringify({ Container: 'other', EndpointConfig: { Privileged: true } }), 400],
      ['POST', '/v1.43/networks/keep/disconnect', JSON.stringify({ Container: 'held', Forced: true }), 400],
      ['POST', '/netmode/v1/containers/other/connect', JSON.stringify({ mode: 'keep', options: { ip: '10.247.4.9', cap: 'all' } }), 400],
      ['POST', '/netmode/v1/containers/held/disconnect', '{"network": ', 400],
      [
        'POST',
        '/netmode/v1/networks',
        JSON.stringify({ name: 'bad', driver: 'bridge', subnets: [{ subnet: '10.247.6.0/24', mask: 24 }] }),
        400,
      ],
      ['DELETE', '/v1.43/networks/keep', '', 403],
      ['POST', '/netmode/v1/gc', JSON.stringify({ validContainerIds: 'held' }), 400],
    ];
    for (const [method, path, body, status] of attempts) {
      const r = await raw(socket, method, path, body);
      expect(r.status, `${method} ${path}: ${r.body}`).toBe(status);
      expect(JSON.parse(r.body)).toMatchObject({ message: expect.any(String), code: expect.stringMatching(/^ERR_/) });
    }
    expect({ state: await fixture.stateFiles(), host: await fixture.snapshot() }).toEqual(before);
    await netmode.disconnect('held');
    await netmode.removeNetwork('keep');
  });
});
