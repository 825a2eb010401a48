import { ErrorCode } from '@netmode/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ApiErrorCode, createApiServer } from '../src/index.js';
import { fakeManager, type Call } from './support/fake-manager.js';

describe('the API server (unit, against a fake manager)', () => {
  let server: FastifyInstance;
  let calls: Call[];
  const changes = () => calls.filter(([m]) => ['createNetwork', 'removeNetwork', 'connect', 'disconnect', 'gc', 'reconcile'].includes(m));

  beforeEach(() => {
    const fake = fakeManager();
    calls = fake.calls;
    server = createApiServer(fake.netmode, { version: '9.9.9', bodyLimit: 4096 });
  });
  afterEach(() => server.close());

  describe("Docker's system routes", () => {
    it('answers /_ping (GET and HEAD) with the API version, with and without a version prefix', async () => {
      for (const url of ['/_ping', '/v1.41/_ping', '/v1.43/_ping']) {
        const r = await server.inject({ method: 'GET', url });
        expect(r.statusCode).toBe(200);
        expect(r.body).toBe('OK');
        expect(r.headers['api-version']).toBe('1.43');
        expect(r.headers['ostype']).toBe('linux');
      }
      const head = await server.inject({ method: 'HEAD', url: '/_ping' });
      expect(head.statusCode).toBe(200);
      expect(head.headers['api-version']).toBe('1.43');
    });

    it('refuses an API version it does not serve, as dockerd', async () => {
      const r = await server.inject({ method: 'GET', url: '/v1.99/networks' });
      expect(r.statusCode).toBe(400);
      expect(r.json()).toMatchObject({ message: 'client version 1.99 is too new. Maximum supported API version is 1.43', code: 'ERR_INVALID_CONFIG' });
      expect((await server.inject('/v1.12/version')).statusCode).toBe(400);
    });

    it('reports versions and info', async () => {
      const v = (await server.inject('/version')).json();
      expect(v).toMatchObject({ Version: '9.9.9', ApiVersion: '1.43', MinAPIVersion: '1.24', Os: 'linux' });
      const info = (await server.inject('/v1.43/info')).json();
      expect(info).toMatchObject({ ServerVersion: '9.9.9', OSType: 'linux', Plugins: { Network: ['bridge', 'host', 'none'] } });
    });

    it("answers an unknown route with Docker's 'page not found'", async () => {
      const r = await server.inject('/containers/json');
      expect(r.statusCode).toBe(404);
      expect(r.json()).toEqual({ message: 'page not found', code: ApiErrorCode.ROUTE_NOT_FOUND });
    });
  });

  describe("Docker's network routes", () => {
    it('creates, lists, inspects (by name, id and id prefix) and removes a network', async () => {
      const created = await server.inject({
        method: 'POST',
        url: '/v1.43/networks/create',
        payload: {
          Name: 'web',
          CheckDuplicate: true,
          Driver: 'bridge',
          Internal: true,
          IPAM: { Driver: 'default', Config: [{ Subnet: '10.9.0.0/24', Gateway: '10.9.0.1', IPRange: '10.9.0.128/25' }], Options: null },
          Options: { 'com.docker.network.bridge.name': 'br-web', 'com.docker.network.driver.mtu': '1400' },
          Labels: { app: 'shop' },
          ConfigFrom: null,
        },
      });
      expect(created.statusCode).toBe(201);
      const { Id, Warning } = created.json() as { Id: string; Warning: string };
      expect(Id).toMatch(/^[0-9a-f]{64}$/);
      expect(Warning).toBe('');
      expect(changes()).toEqual([
        [
          'createNetwork',
          {
            name: 'web',
            driver: 'bridge',
            internal: true,
            subnets: [{ subnet: '10.9.0.0/24', gateway: '10.9.0.1', ipRange: '10.9.0.128/25' }],
            options: { bridgeName: 'br-web', mtu: 1400 },
            labels: { app: 'shop' },
          },
        ],
      ]);

      const list = (await server.inject('/networks')).json() as { Name: string }[];
      expect(list.map((n) => n.Name)).toEqual(['bridge', 'host', 'none', 'web']);
      for (const term of ['web', Id, Id.slice(0, 12)]) {
        const n = (await server.inject(`/networks/${term}`)).json();
        expect(n).toMatchObject({
          Name: 'web',
          Id,
          Scope: 'local',
          Driver: 'bridge',
          EnableIPv6: false,
          IPAM: { Driver: 'default', Options: {}, Config: [{ Subnet: '10.9.0.0/24', Gateway: '10.9.0.1', IPRange: '10.9.0.128/25' }] },
          Internal: true,
          Attachable: false,
          Ingress: false,
          ConfigFrom: { Network: '' },
          ConfigOnly: false,
          Containers: {},
          Options: { bridgeName: 'br-web', mtu: '1400' },
          Labels: { app: 'shop' },
        });
      }
      // Docker's Options hold strings only.
      expect((await server.inject('/networks/bridge')).json().Options).toEqual({ bridge: 'netmode0', mtu: '1500' });

      expect((await server.inject({ method: 'POST', url: '/networks/create', payload: { Name: 'web' } })).statusCode).toBe(409);
      expect((await server.inject({ method: 'DELETE', url: `/networks/${Id.slice(0, 10)}` })).statusCode).toBe(204);
      expect((await server.inject('/networks/web')).statusCode).toBe(404);
      expect((await server.inject({ method: 'DELETE', url: '/networks/web' })).json()).toEqual({
        message: 'network web not found',
        code: ErrorCode.NETWORK_NOT_FOUND,
        context: { network: 'web' },
      });
    });

    it("refuses to remove a predefined network with dockerd's 403", async () => {
      const r = await server.inject({ method: 'DELETE', url: '/networks/bridge' });
      expect(r.statusCode).toBe(403);
      expect(r.json()).toMatchObject({ code: ErrorCode.NETWORK_IN_USE, message: 'bridge is a predefined network and cannot be removed' });
    });

    it('filters the list by name, id, driver, type, label and dangling, in both of Docker\'s filter forms', async () => {
      await server.inject({ method: 'POST', url: '/networks/create', payload: { Name: 'front', Labels: { tier: 'web' } } });
      await server.inject({ method: 'POST', url: '/networks/create', payload: { Name: 'back' } });
      await server.inject({ method: 'POST', url: '/networks/back/connect', payload: { Container: 'db' } });
      const names = async (filters: unknown) =>
        ((await server.inject(`/networks?filters=${encodeURIComponent(JSON.stringify(filters))}`)).json() as { Name: string }[]).map(
          (n) => n.Name,
        );
      expect(await names({ name: { fro: true } })).toEqual(['front']);
      expect(await names({ name: ['ack', 'none'] })).toEqual(['back', 'none']);
      expect(await names({ driver: { host: true } })).toEqual(['host']);
      expect(await names({ type: { custom: true } })).toEqual(['back', 'front']);
      expect(await names({ type: { builtin: true } })).toEqual(['bridge', 'host', 'none']);
      expect(await names({ label: { 'tier=web': true } })).toEqual(['front']);
      expect(await names({ label: { tier: true }, name: { back: true } })).toEqual([]);
      expect(await names({ dangling: { true: true } })).toEqual(['front']);
      expect(await names({ id: { b000: true } })).toEqual(['bridge']);
      const bad = await server.inject(`/networks?filters=${encodeURIComponent('{"colour":{"red":true}}')}`);
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toMatchObject({ message: "invalid filter 'colour'", code: ErrorCode.INVALID_CONFIG });
      expect((await server.inject('/networks?filters=%7Bnot-json')).statusCode).toBe(400);
    });

    it('connects and disconnects a container, shows it in inspect, and prunes only unused networks', async () => {
      await server.inject({ method: 'POST', url: '/networks/create', payload: { Name: 'used' } });
      await server.inject({ method: 'POST', url: '/networks/create', payload: { Name: 'idle' } });
      const connect = await server.inject({
        method: 'POST',
        url: '/networks/used/connect',
        payload: {
          Container: 'c1',
          EndpointConfig: {
            IPAMConfig: { IPv4Address: '172.18.0.9' },
            Links: null,
            Aliases: ['db'],
            MacAddress: '',
            NetworkID: '',
            EndpointID: '',
            Gateway: '',
            IPAddress: '',
            IPPrefixLen: 0,
            IPv6Gateway: '',
            GlobalIPv6Address: '',
            GlobalIPv6PrefixLen: 0,
            DriverOpts: null,
          },
        },
      });
      expect(connect.statusCode).toBe(200);
      expect(calls.find(([m]) => m === 'connect')).toEqual(['connect', 'c1', 'used', { ip: '172.18.0.9', aliases: ['db'] }]);
      const again = await server.inject({ method: 'POST', url: '/networks/used/connect', payload: { Container: 'c1' } });
      expect(again.statusCode).toBe(403);
      expect(again.json().code).toBe(ErrorCode.ENDPOINT_EXISTS);
      const inspected = (await server.inject('/networks/used')).json();
      expect(inspected.Containers).toEqual({
        c1: { Name: 'c1', EndpointID: expect.stringMatching(/^c1@/), MacAddress: '02:42:ac:12:00:02', IPv4Address: '172.18.0.9/16', IPv6Address: '' },
      });
      expect((await server.inject({ method: 'DELETE', url: '/networks/used' })).statusCode).toBe(403);

      const pruned = await server.inject({ method: 'POST', url: '/networks/prune' });
      expect(pruned.statusCode).toBe(200);
      expect(pruned.json()).toEqual({ NetworksDeleted: ['idle'] });

      const disconnect = await server.inject({ method: 'POST', url: '/networks/used/disconnect', payload: { Container: 'c1', Force: false } });
      expect(disconnect.statusCode).toBe(200);
      const notOn = await server.inject({ method: 'POST', url: '/networks/used/disconnect', payload: { Container: 'c1' } });
      expect(notOn.statusCode).toBe(404);
      expect(notOn.json().code).toBe(ErrorCode.ENDPOINT_NOT_FOUND);
    });

    it('refuses what netmode does not offer, before any change', async () => {
      const bodies = [
        { Name: 'x', EnableIPv6: true },
        { Name: 'x', Scope: 'swarm' },
        { Name: 'x', Ingress: true },
        { Name: 'x', ConfigOnly: true },
        { Name: 'x', ConfigFrom: { Network: 'y' } },
        { Name: 'x', IPAM: { Driver: 'dhcp' } },
        { Name: 'x', IPAM: { Config: [{ Subnet: '10.1.0.0/24', AuxiliaryAddresses: { a: '10.1.0.5' } }] } },
      ];
      for (const payload of bodies) {
        const r = await server.inject({ method: 'POST', url: '/networks/create', payload });
        expect(r.statusCode, JSON.stringify(payload)).toBe(400);
        expect(r.json().code).toBe(ErrorCode.UNSUPPORTED);
      }
      const links = await server.inject({ method: 'POST', url: '/networks/bridge/connect', payload: { Container: 'c', EndpointConfig: { Links: ['a:b'] } } });
      expect(links.statusCode).toBe(400);
      expect(changes()).toEqual([]);
    });
  });

  describe('bad requests change nothing', () => {
    const cases: [string, { method: 'POST'; url: string; payload?: string; headers?: Record<string, string> }, number, string][] = [
      ['malformed JSON', { method: 'POST', url: '/networks/create', payload: '{"Name": "x",', headers: { 'content-type': 'application/json' } }, 400, ErrorCode.INVALID_CONFIG],
      ['an unknown field', { method: 'POST', url: '/networks/create', payload: '{"Name":"x","Colour":"red"}', headers: { 'content-type': 'application/json' } }, 400, ErrorCode.INVALID_CONFIG],
      ['a nested unknown field', { method: 'POST', url: '/networks/create', payload: '{"Name":"x","IPAM":{"Config":[{"Subnet":"10.1.0.0/24","Mask":1}]}}', headers: { 'content-type': 'application/json' } }, 400, ErrorCode.INVALID_CONFIG],
      ['a wrong type', { method: 'POST', url: '/networks/create', payload: '{"Name":"x","Internal":"true"}', headers: { 'content-type': 'application/json' } }, 400, ErrorCode.INVALID_CONFIG],
      ['a missing Name', { method: 'POST', url: '/networks/create', payload: '{}', headers: { 'content-type': 'application/json' } }, 400, ErrorCode.INVALID_CONFIG],
      ['no body', { method: 'POST', url: '/networks/create' }, 400, ErrorCode.INVALID_CONFIG],
      ['an oversized body', { method: 'POST', url: '/networks/create', payload: JSON.stringify({ Name: 'x', Labels: { a: 'x'.repeat(5000) } }), headers: { 'content-type': 'application/json' } }, 413, ApiErrorCode.BODY_TOO_LARGE],
      ['a body in another media type', { method: 'POST', url: '/networks/create', payload: 'Name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415, ErrorCode.INVALID_CONFIG],
      ['an unknown connect option', { method: 'POST', url: '/netmode/v1/containers/c1/connect', payload: '{"mode":"bridge","options":{"privileged":true}}', headers: { 'content-type': 'application/json' } }, 400, ErrorCode.INVALID_CONFIG],
      ['a netns of an unknown kind', { method: 'POST', url: '/netmode/v1/containers/c1/connect', payload: '{"mode":"bridge","options":{"netns":{"kind":"pid","pid":1}}}', headers: { 'content-type': 'application/json' } }, 400, ErrorCode.INVALID_CONFIG],
      ['a port as a string', { method: 'POST', url: '/netmode/v1/containers/c1/connect', payload: '{"mode":"bridge","options":{"ports":[{"containerPort":"80"}]}}', headers: { 'content-type': 'application/json' } }, 400, ErrorCode.INVALID_CONFIG],
      ['gc without its list', { method: 'POST', url: '/netmode/v1/gc', payload: '{}', headers: { 'content-type': 'application/json' } }, 400, ErrorCode.INVALID_CONFIG],
      ['gc with a bad date', { method: 'POST', url: '/netmode/v1/gc', payload: '{"validContainerIds":[],"listedAt":"yesterday"}', headers: { 'content-type': 'application/json' } }, 400, ErrorCode.INVALID_CONFIG],
      ['a network spec with an unknown field', { method: 'POST', url: '/netmode/v1/networks', payload: '{"name":"x","driver":"bridge","ipv6":true}', headers: { 'content-type': 'application/json' } }, 400, ErrorCode.INVALID_CONFIG],
    ];
    it.each(cases)('%s', async (_what, request, status, code) => {
      const r = await server.inject(request);
      expect(r.statusCode, r.body).toBe(status);
      const body = r.json() as { message: string; code: string };
      expect(body.code).toBe(code);
      expect(body.message.length).toBeGreaterThan(5);
      expect(changes()).toEqual([]);
    });

    it('names the unknown field', async () => {
      const r = await server.inject({ method: 'POST', url: '/networks/create', payload: { Name: 'x', Colour: 'red' } });
      expect(r.json()).toMatchObject({ message: 'body: unknown field "Colour"', context: { field: 'body' } });
    });
  });

  describe("netmode's own routes", () => {
    it('connects, inspects, lists, checks and disconnects', async () => {
      const connect = await server.inject({
        method: 'POST',
        url: '/netmode/v1/containers/web/connect',
        payload: { mode: 'bridge', options: { netns: { kind: 'named', name: 'ns1' }, ports: [{ hostPort: 8080, containerPort: 80 }], hostname: 'web' } },
      });
      expect(connect.statusCode).toBe(201);
      expect(connect.json()).toMatchObject({ containerId: 'web', network: 'bridge', netns: { kind: 'named', name: 'ns1' } });
      expect((await server.inject('/netmode/v1/containers/web')).json()).toMatchObject({ containerId: 'web' });
      expect((await server.inject('/netmode/v1/containers/web/endpoint?network=bridge')).json()).toMatchObject({ network: 'bridge' });
      expect((await server.inject('/netmode/v1/containers/web/names')).json()).toMatchObject({ hostname: 'web\n' });
      expect((await server.inject({ method: 'POST', url: '/netmode/v1/containers/web/check' })).json()).toEqual({ ok: true, problems: [] });
      expect(((await server.inject('/netmode/v1/endpoints')).json() as unknown[]).length).toBe(1);
      const twice = await server.inject({ method: 'POST', url: '/netmode/v1/containers/web/connect', payload: { mode: 'bridge' } });
      expect(twice.statusCode).toBe(409);
      expect(twice.json().code).toBe(ErrorCode.ENDPOINT_EXISTS);
      expect((await server.inject({ method: 'POST', url: '/netmode/v1/containers/web/disconnect', payload: { network: 'bridge' } })).statusCode).toBe(204);
      expect((await server.inject({ method: 'POST', url: '/netmode/v1/containers/web/disconnect' })).statusCode).toBe(204);
      expect((await server.inject({ method: 'POST', url: '/netmode/v1/containers/web/disconnect', payload: {} })).statusCode).toBe(204);
      const missing = await server.inject('/netmode/v1/containers/web');
      expect(missing.statusCode).toBe(404);
      expect(missing.json().code).toBe(ErrorCode.ENDPOINT_NOT_FOUND);
    });

    it('creates, inspects and removes networks; reconciles; collects garbage; tells its info', async () => {
      const created = await server.inject({ method: 'POST', url: '/netmode/v1/networks', payload: { name: 'n1', driver: 'bridge', subnets: [{ subnet: '10.3.0.0/24' }] } });
      expect(created.statusCode).toBe(201);
      expect(created.json()).toMatchObject({ name: 'n1', driver: 'bridge', predefined: false });
      expect((await server.inject('/netmode/v1/networks/n1')).json()).toMatchObject({ name: 'n1' });
      expect(((await server.inject('/netmode/v1/networks')).json() as { name: string }[]).map((n) => n.name)).toContain('n1');
      expect((await server.inject({ method: 'POST', url: '/netmode/v1/networks', payload: { name: 'n1', driver: 'bridge' } })).statusCode).toBe(409);
      expect((await server.inject({ method: 'POST', url: '/netmode/v1/networks', payload: { name: 'n2', driver: 'overlay' } })).statusCode).toBe(404);
      expect((await server.inject({ method: 'DELETE', url: '/netmode/v1/networks/n1' })).statusCode).toBe(204);
      expect((await server.inject({ method: 'POST', url: '/netmode/v1/reconcile' })).json()).toMatchObject({ failures: [] });
      const gc = await server.inject({ method: 'POST', url: '/netmode/v1/gc', payload: { validContainerIds: ['a'], listedAt: '2024-01-01T00:00:00Z' } });
      expect(gc.statusCode).toBe(200);
      expect(calls.at(-1)).toEqual(['gc', ['a'], { listedAt: new Date('2024-01-01T00:00:00Z') }]);
      expect((await server.inject('/netmode/v1/info')).json()).toEqual({ drivers: ['bridge', 'host', 'none'], hostNetns: { kind: 'named', name: 'fakehost' }, version: '9.9.9' });
    });
  });
});
