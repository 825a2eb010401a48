import type { NetModeEventName, NetModeEvents, NetworkSpec } from '@netmode/core';
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../context.js';
import { streamLines } from '../line-stream.js';
import { ERRORS, empty, json, jsonArray } from '../responses.js';
import {
  ConnectBody,
  ContainerParams,
  DisconnectBody,
  GcBody,
  NetworkParams,
  NetworkQuery,
  NetworkSpecSchema,
  type NetworkSpecBody,
} from './schemas.js';

/** The prefix of netmode's own routes. */
export const NETMODE_PREFIX = '/netmode/v1';

/** Every event of the manager, streamed by `GET /netmode/v1/events`; the compiler checks the list is whole. */
const EVENT_NAMES = Object.keys({
  'network:created': true,
  'network:removed': true,
  'endpoint:attached': true,
  'endpoint:detached': true,
  'endpoint:failed': true,
  'endpoint:broken': true,
  'reconcile:repaired': true,
  'sandbox:created': true,
  'sandbox:deleted': true,
  'sandbox:owner-lost': true,
  'sandbox:owner-regained': true,
  warning: true,
  'command:exec': true,
  'listener:error': true,
} satisfies Record<NetModeEventName, true>) as NetModeEventName[];

const tags = ['netmode'];

/**
 * netmode's own routes, for what Docker's API has no word for: a sandbox
 * that is not a Docker container, the SDK's own records, `reconcile`, `gc`.
 * Each is one call of the {@link NetworkManager}, with its JSON as the SDK
 * returns it.
 */
export function registerNetmodeRoutes(server: FastifyInstance, ctx: RouteContext): void {
  const { netmode } = ctx;
  const id = (request: { params: unknown }) => (request.params as { id: string }).id;
  const network = (request: { query: unknown }) => (request.query as { network?: string }).network;

  server.post(
    `${NETMODE_PREFIX}/containers/:id/connect`,
    { schema: { tags, summary: 'connect(): attach a container in a mode', params: ContainerParams, body: ConnectBody, response: { 201: json('Endpoint'), ...ERRORS } } },
    async (request, reply) => {
      const body = request.body as ConnectBody;
      return reply.code(201).send(await netmode.connect(id(request), body.mode, body.options ?? {}));
    },
  );
  server.post(
    `${NETMODE_PREFIX}/containers/:id/disconnect`,
    {
      schema: { tags, summary: 'disconnect(): from one network, or from all', params: ContainerParams, body: DisconnectBody, response: { 204: empty('Disconnected'), ...ERRORS } },
      // No body at all means the same as {}: disconnect from every network.
      preValidation: async (request) => {
        if (request.body === undefined) request.body = null;
      },
    },
    async (request, reply) => {
      const body = request.body as DisconnectBody;
      await netmode.disconnect(id(request), body?.network);
      return reply.code(204).send();
    },
  );
  server.get(
    `${NETMODE_PREFIX}/containers/:id`,
    { schema: { tags, summary: "inspect(): a container's sandbox", params: ContainerParams, response: { 200: json('Sandbox'), ...ERRORS } } },
    (request) => netmode.inspect(id(request)),
  );
  server.get(
    `${NETMODE_PREFIX}/containers/:id/endpoint`,
    {
      schema: { tags, summary: 'inspectEndpoint(): one endpoint', params: ContainerParams, querystring: NetworkQuery, response: { 200: json('Endpoint'), ...ERRORS } },
    },
    (request) => netmode.inspectEndpoint(id(request), network(request)),
  );
  server.get(
    `${NETMODE_PREFIX}/containers/:id/names`,
    { schema: { tags, summary: "nameFiles(): the sandbox's name files", params: ContainerParams, response: { 200: json('NameFileContents'), ...ERRORS } } },
    (request) => netmode.nameFiles(id(request)),
  );
  server.post(
    `${NETMODE_PREFIX}/containers/:id/check`,
    {
      schema: { tags, summary: 'check(): does the kernel match the record', params: ContainerParams, querystring: NetworkQuery, response: { 200: json('CheckReport'), ...ERRORS } },
    },
    (request) => netmode.check(id(request), network(request)),
  );
  server.get(`${NETMODE_PREFIX}/endpoints`, { schema: { tags, summary: 'list(): every endpoint', response: { 200: jsonArray('Endpoint[]'), ...ERRORS } } }, () => netmode.list());

  server.get(`${NETMODE_PREFIX}/networks`, { schema: { tags, summary: 'listNetworks()', response: { 200: jsonArray('NetworkRecord[]'), ...ERRORS } } }, () => netmode.listNetworks());
  server.post(
    `${NETMODE_PREFIX}/networks`,
    { schema: { tags, summary: 'createNetwork()', body: NetworkSpecSchema, response: { 201: json('NetworkRecord'), ...ERRORS } } },
    async (request, reply) => reply.code(201).send(await netmode.createNetwork(request.body as NetworkSpecBody as NetworkSpec)),
  );
  server.get(
    `${NETMODE_PREFIX}/networks/:name`,
    { schema: { tags, summary: 'inspectNetwork()', params: NetworkParams, response: { 200: json('NetworkRecord'), ...ERRORS } } },
    (request) => netmode.inspectNetwork((request.params as { name: string }).name),
  );
  server.delete(
    `${NETMODE_PREFIX}/networks/:name`,
    { schema: { tags, summary: 'removeNetwork()', params: NetworkParams, response: { 204: empty('Removed'), ...ERRORS } } },
    async (request, reply) => {
      await netmode.removeNetwork((request.params as { name: string }).name);
      return reply.code(204).send();
    },
  );

  server.post(`${NETMODE_PREFIX}/reconcile`, { schema: { tags, summary: 'reconcile()', response: { 200: json('ReconcileReport'), ...ERRORS } } }, () => netmode.reconcile());
  server.post(`${NETMODE_PREFIX}/gc`, { schema: { tags, summary: 'gc()', body: GcBody, response: { 200: json('GcReport'), ...ERRORS } } }, (request) => {
    const body = request.body as GcBody;
    return netmode.gc(body.validContainerIds, body.listedAt === undefined ? {} : { listedAt: new Date(body.listedAt) });
  });

  server.get(`${NETMODE_PREFIX}/events`, { schema: { tags, summary: 'Every event of the manager, one JSON line each' } }, (_request, reply) => {
    streamLines(reply, ctx, (write) => {
      const listeners = EVENT_NAMES.map((event) => {
        const listener = (payload: NetModeEvents[typeof event][0]) => write({ event, payload });
        ctx.netmode.events.on(event, listener);
        return () => ctx.netmode.events.off(event, listener);
      });
      return () => listeners.forEach((off) => off());
    });
  });

  server.get(`${NETMODE_PREFIX}/info`, { schema: { tags, summary: 'The drivers, the host namespace and the version' } }, () => ({
    drivers: netmode.drivers,
    hostNetns: netmode.hostNetns,
    version: ctx.version,
  }));
}
