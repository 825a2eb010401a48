import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, isNetModeError } from '@netmode/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiServer, listenAll, parseHost, type ListenSpec } from '../src/index.js';
import { checkListenSecurity } from '../src/listen/listen-all.js';
import { makeCerts, type TestCerts } from './support/certs.js';
import { fakeManager } from './support/fake-manager.js';

const FD_CHILD = fileURLToPath(new URL('./support/fd-child.mjs', import.meta.url));
const asRoot = process.getuid?.() === 0;

/** GET over a unix socket; resolves with status and body. */
const getUnix = (socketPath: string, path: string) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest({ socketPath, path }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });

const refusal = async (work: () => unknown) => {
  try {
    await work();
  } catch (error) {
    return error;
  }
  throw new Error('accepted');
};

describe('parseHost: Docker -H syntax', () => {
  it.each<[string, ListenSpec]>([
    ['unix:///run/x.sock', { kind: 'unix', path: '/run/x.sock' }],
    ['unix://', { kind: 'unix', path: '/run/netmode.sock' }],
    ['tcp://127.0.0.1:2375', { kind: 'tcp', host: '127.0.0.1', port: 2375 }],
    ['tcp://:2380', { kind: 'tcp', host: '127.0.0.1', port: 2380 }],
    ['tcp://', { kind: 'tcp', host: '127.0.0.1', port: 2375 }],
    ['tcp://[::1]:2376', { kind: 'tcp', host: '::1', port: 2376 }],
    ['tcp://localhost', { kind: 'tcp', host: 'localhost', port: 2375 }],
    ['127.0.0.1:9000', { kind: 'tcp', host: '127.0.0.1', port: 9000 }],
    ['fd://', { kind: 'fd' }],
    ['fd://4', { kind: 'fd', fd: 4 }],
  ])('%s', (value, spec) => {
    expect(parseHost(value)).toEqual(spec);
  });

  it.each([
    'npipe:////./pipe/docker',
    'ssh://me@host',
    'http://127.0.0.1:2375',
    'unix://relative.sock',
    'tcp://1.2.3.4:99999',
    'tcp://h:1/path',
    'tcp://::1:2375',
    'fd://x',
    'fd://1',
    '',
  ])('refuses %j with ERR_INVALID_CONFIG', (value) => {
    const error = (() => {
      try {
        parseHost(value);
      } catch (e) {
        return e;
      }
    })();
    expect(isNetModeError(error, ErrorCode.INVALID_CONFIG), String(error)).toBe(true);
  });
});

describe('listening', () => {
  let dir: string;
  let certs: TestCerts;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'netmode-api-listen-'));
    certs = makeCerts(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses TCP on an address that is not loopback without TLS client verification, naming the flags, before listening anywhere', async () => {
    const server = createApiServer(fakeManager().netmode);
    const socket = join(dir, 'never.sock');
    const error = await refusal(() => listenAll(server, [parseHost(`unix://${socket}`), parseHost('tcp://0.0.0.0:2375')]));
    expect(isNetModeError(error, ErrorCode.INVALID_CONFIG), String(error)).toBe(true);
    expect((error as Error).message).toMatch(/^host: tcp:\/\/0\.0\.0\.0:2375 is not a loopback address/);
    expect((error as Error).message).toContain('--tlsverify --tlscacert --tlscert --tlskey');
    expect(() => statSync(socket)).toThrow();
    const tls = { ca: certs.ca, cert: certs.serverCert, key: certs.serverKey };
    expect(() => checkListenSecurity(parseHost('tcp://10.1.2.3:2376'), { tls: { ...tls, verify: false } })).toThrow(/not a loopback/);
    expect(() => checkListenSecurity(parseHost('tcp://10.1.2.3:2376'), { tls: { ...tls, verify: true } })).not.toThrow();
    expect(() => checkListenSecurity(parseHost('tcp://127.0.0.2:2376'), {})).not.toThrow();
    await server.close();
  });

  it.skipIf(!asRoot)('makes the unix socket 0660, owned by root and the group given, and removes it at stop', async () => {
    for (const group of [undefined, 'daemon', '4242']) {
      const server = createApiServer(fakeManager().netmode);
      const socket = join(dir, 'api.sock');
      const stop = await listenAll(server, [parseHost(`unix://${socket}`)], group === undefined ? {} : { group });
      const stat = statSync(socket);
      expect(stat.isSocket()).toBe(true);
      expect(stat.mode & 0o7777).toBe(0o660);
      expect(stat.uid).toBe(0);
      expect(stat.gid).toBe(group === undefined ? 0 : group === 'daemon' ? 1 : 4242);
      expect(await getUnix(socket, '/_ping')).toEqual({ status: 200, body: 'OK' });
      expect(stop.addresses).toEqual([`unix://${socket}`]);
      await stop();
      expect(() => statSync(socket)).toThrow();
    }
    const error = await refusal(() =>
      listenAll(createApiServer(fakeManager().netmode), [parseHost(`unix://${join(dir, 'g.sock')}`)], { group: 'no-such-group-here' }),
    );
    expect(isNetModeError(error, ErrorCode.INVALID_CONFIG), String(error)).toBe(true);
  });

  it('replaces a stale socket, but not a live one nor a file that is not a socket', async () => {
    const stale = join(dir, 'stale.sock');
    // A socket file nobody listens on: bound, never listening.
    execFileSync('python3', ['-c', `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(stale)})`]);
    const server = createApiServer(fakeManager().netmode);
    const stop = await listenAll(server, [parseHost(`unix://${stale}`)]);
    expect((await getUnix(stale, '/_ping')).status).toBe(200);

    const second = await refusal(() => listenAll(createApiServer(fakeManager().netmode), [parseHost(`unix://${stale}`)]));
    expect(isNetModeError(second, ErrorCode.BUSY), String(second)).toBe(true);
    expect((await getUnix(stale, '/_ping')).status).toBe(200);
    await stop();

    const file = join(dir, 'not-a-socket');
    writeFileSync(file, 'keep me');
    const error = await refusal(() => listenAll(createApiServer(fakeManager().netmode), [parseHost(`unix://${file}`)]));
    expect(isNetModeError(error, ErrorCode.INVALID_CONFIG), String(error)).toBe(true);
    expect(statSync(file).isFile()).toBe(true);
  });

  it('serves TLS on loopback and admits only a client certificate signed by the CA', async () => {
    const server = createApiServer(fakeManager().netmode);
    const stop = await listenAll(server, [parseHost('tcp://127.0.0.1:0')], {
      tls: { ca: certs.ca, cert: certs.serverCert, key: certs.serverKey, verify: true },
    });
    const port = Number(/:(\d+)$/.exec(stop.addresses[0] as string)?.[1]);
    const get = (client: { cert?: string; key?: string }) =>
      new Promise<number>((resolve, reject) => {
        const req = httpsRequest({ host: '127.0.0.1', port, path: '/v1.43/_ping', ca: certs.ca, ...client }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    try {
      expect(await get({ cert: certs.clientCert, key: certs.clientKey })).toBe(200);
      await expect(get({})).rejects.toThrow();
      await expect(get({ cert: certs.strangerCert, key: certs.strangerKey })).rejects.toThrow();
    } finally {
      await stop();
    }
  });

  it('takes a socket from systemd socket activation (fd://, LISTEN_PID, LISTEN_FDS)', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const { port } = holder.address() as AddressInfo;
    const fd = (holder as unknown as { _handle: { fd: number } })._handle.fd;
    // `exec` keeps the shell's PID, so $$ is the service's own PID.
    const child = spawn('sh', ['-c', `LISTEN_PID=$$ LISTEN_FDS=1 exec "${process.execPath}" "${FD_CHILD}" fd://`], {
      stdio: ['ignore', 'pipe', 'inherit', fd],
    });
    holder.close();
    try {
      const line = await new Promise<string>((resolve, reject) => {
        child.stdout?.once('data', (d: Buffer) => resolve(d.toString()));
        child.once('exit', (code) => reject(new Error(`the service exited ${code}`)));
      });
      expect(line).toBe('listening fd://3\n');
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, path: '/_ping' }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
      expect(status).toBe(200);
    } finally {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
    }
  });
});
