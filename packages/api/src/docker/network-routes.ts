import { ErrorCode, NetModeError, isNetModeError, type ConnectOptions, type NetworkManager, type NetworkRecord } from '@netmode/core';
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../context.js';
import { ApiError } from '../errors.js';
import { labelMatches, parseFilters, passes } from './filters.js';
import { ERRORS, empty, json, jsonArray } from '../responses.js';
import { dockerNetwork, netmodeOptions } from './network-json.js';
import {
  FiltersQuery,
  InspectQuery,
  NetworkConnectBody,
  NetworkCreateBody,
  NetworkDisconnectBody,
  NetworkIdParams,
} from './schemas.js';

const LIST_FILTERS = ['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type'] as const;
const PRUNE_FILTERS = ['label', 'label!', 'until'] as const;
const docker = { docker: true };

/**
 * The network routes of Docker's Engine API. A `{id}` is what dockerd takes:
 * a network's full id, its name, or a prefix of its id that only one network
 * has. Containers are netmode container ids.
 */
export function registerNetworkRoutes(server: FastifyInstance, ctx: RouteContext): void {
  const { netmode } = ctx;

  server.get(
    '/networks',
    { config: docker, schema: { summary: 'List networks', operationId: 'NetworkList', querystring: FiltersQuery, response: { 200: jsonArray('Networks, without their containers'), ...ERRORS } } },
    async (request) => {
      const filters = parseFilters((request.query as { filters?: string }).filters, LIST_FILTERS);
      const type = filters.get('type') ?? [];
      const bad = type.find((t) => t !== 'custom' && t !== 'builtin');
      if (bad !== undefined) throw unsupportedFilter(`invalid filter: 'type'='${bad}'`);
      const dangling = filters.get('dangling')?.map(parseBool);
      if (dangling?.includes(undefined)) throw unsupportedFilter(`invalid filter 'dangling=${filters.get('dangling')?.join(',')}'`);
      const endpoints = dangling ? await netmode.list() : [];
      return (await netmode.listNetworks())
        .filter(
          (n) =>
            passes(filters, 'driver', (v) => n.driver === v) &&
            // dockerd matches names and ids as patterns; a substring is what
            // its clients use, without running a caller's regular expression.
            passes(filters, 'id', (v) => n.id.includes(v)) &&
            passes(filters, 'name', (v) => n.name.includes(v)) &&
            passes(filters, 'label', (v) => labelMatches(n.labels, v)) &&
            passes(filters, 'scope', (v) => v === 'local') &&
            passes(filters, 'type', (v) => (v === 'builtin') === n.predefined) &&
            passes(filters, 'dangling', (v) => parseBool(v) === (!n.predefined && !endpoints.some((e) => e.networkId === n.id))),
        )
        .map((n) => dockerNetwork(n, []));
    },
  );

  server.get(
    '/networks/:id',
    {
      config: docker,
      schema: { summary: 'Inspect a network', operationId: 'NetworkInspect', params: NetworkIdParams, querystring: InspectQuery, response: { 200: json('The network, with its containers'), ...ERRORS } },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const { scope } = request.query as { scope?: string };
      const network = await findNetwork(netmode, id);
      if (scope !== undefined && scope !== '' && scope !== 'local') throw notFound(id);
      return dockerNetwork(network, await netmode.list());
    },
  );

  server.post(
    '/networks/create',
    {
      config: docker,
      schema: {
        summary: 'Create a network',
        operationId: 'NetworkCreate',
        body: NetworkCreateBody,
        response: { 201: { description: 'Created', type: 'object', properties: { Id: { type: 'string' }, Warning: { type: 'string' } } }, ...ERRORS },
      },
    },
    async (request, reply) => {
      const body = request.body as NetworkCreateBody;
      const warnings: string[] = [];
      refuseUnless(body.Scope === undefined || body.Scope === '' || body.Scope === 'local', `scope ${body.Scope} is not supported`);
      refuseUnless(body.EnableIPv6 !== true, 'EnableIPv6: IPv6 networks are not supported');
      refuseUnless(body.EnableIPv4 !== false, 'EnableIPv4: a network without IPv4 is not supported');
      refuseUnless(body.Ingress !== true, 'Ingress: ingress networks are a swarm feature');
      refuseUnless(body.ConfigOnly !== true, 'ConfigOnly: configuration-only networks are not supported');
      refuseUnless(!body.ConfigFrom?.Network, 'ConfigFrom: configuration-only networks are not supported');
      const ipam = body.IPAM ?? {};
      refuseUnless(ipam.Driver === undefined || ipam.Driver === '' || ipam.Driver === 'default', `IPAM driver ${ipam.Driver} is not supported`);
      refuseUnless(Object.keys(ipam.Options ?? {}).length === 0, 'IPAM.Options are not supported');
      const subnets = (ipam.Config ?? []).map((c, i) => {
        refuseUnless(Object.keys(c.AuxiliaryAddresses ?? {}).length === 0, `IPAM.Config[${i}].AuxiliaryAddresses are not supported`);
        if (!c.Subnet) throw new NetModeError(ErrorCode.INVALID_CONFIG, `IPAM.Config[${i}].Subnet: a subnet is required`);
        return { subnet: c.Subnet, ...(c.Gateway ? { gateway: c.Gateway } : {}), ...(c.IPRange ? { ipRange: c.IPRange } : {}) };
      });
      if (body.Attachable) warnings.push('Attachable is a swarm setting; netmode ignores it');
      const network = await netmode.createNetwork({
        name: body.Name,
        driver: body.Driver || 'bridge',
        ...(subnets.length > 0 ? { subnets } : {}),
        ...(body.Internal === undefined ? {} : { internal: body.Internal }),
        ...(body.Options ? { options: netmodeOptions(body.Options) } : {}),
        ...(body.Labels ? { labels: body.Labels } : {}),
      });
      return reply.code(201).send({ Id: network.id, Warning: warnings.join('; ') });
    },
  );

  server.delete(
    '/networks/:id',
    { config: docker, schema: { summary: 'Remove a network', operationId: 'NetworkDelete', params: NetworkIdParams, response: { 204: empty('Removed'), ...ERRORS } } },
    async (request, reply) => {
      const network = await findNetwork(netmode, (request.params as { id: string }).id);
      await netmode.removeNetwork(network.name);
      return reply.code(204).send();
    },
  );

  server.post(
    '/networks/:id/connect',
    {
      config: docker,
      schema: {
        summary: 'Connect a container (a netmode container id) to a network',
        operationId: 'NetworkConnect',
        params: NetworkIdParams,
        body: NetworkConnectBody,
        response: { 200: empty('Connected'), ...ERRORS },
      },
    },
    async (request, reply) => {
      const body = request.body as NetworkConnectBody;
      const config = body.EndpointConfig ?? {};
      refuseUnless((config.Links ?? []).length === 0, 'EndpointConfig.Links: legacy links are not supported');
      refuseUnless(!config.IPAMConfig?.IPv6Address, 'EndpointConfig.IPAMConfig.IPv6Address: IPv6 is not supported');
      refuseUnless((config.IPAMConfig?.LinkLocalIPs ?? []).length === 0, 'EndpointConfig.IPAMConfig.LinkLocalIPs are not supported');
      refuseUnless(Object.keys(config.DriverOpts ?? {}).length === 0, 'EndpointConfig.DriverOpts are not supported');
      const network = await findNetwork(netmode, (request.params as { id: string }).id);
      const options: ConnectOptions = {
        ...(config.IPAMConfig?.IPv4Address ? { ip: config.IPAMConfig.IPv4Address } : {}),
        ...(config.Aliases && config.Aliases.length > 0 ? { aliases: config.Aliases } : {}),
        ...(config.MacAddress ? { mac: config.MacAddress } : {}),
        ...(config.GwPriority ? { gwPriority: config.GwPriority } : {}),
      };
      await netmode.connect(body.Container, network.name, options);
      return reply.code(200).send();
    },
  );

  server.post(
    '/networks/:id/disconnect',
    {
      config: docker,
      schema: {
        summary: 'Disconnect a container from a network',
        operationId: 'NetworkDisconnect',
        params: NetworkIdParams,
        body: NetworkDisconnectBody,
        response: { 200: empty('Disconnected'), ...ERRORS },
      },
    },
    async (request, reply) => {
      const body = request.body as NetworkDisconnectBody;
      const network = await findNetwork(netmode, (request.params as { id: string }).id);
      await netmode.disconnect(body.Container, network.name);
      return reply.code(200).send();
    },
  );

  server.post(
    '/networks/prune',
    {
      config: docker,
      schema: {
        summary: 'Remove the user-defined networks that no container uses',
        operationId: 'NetworkPrune',
        querystring: FiltersQuery,
        response: {
          200: { description: 'Removed', type: 'object', properties: { NetworksDeleted: { type: 'array', items: { type: 'string' } } } },
          ...ERRORS,
        },
      },
    },
    async (request) => {
      const filters = parseFilters((request.query as { filters?: string }).filters, PRUNE_FILTERS);
      const until = filters.get('until')?.map((u) => parseTime(u, 'until'));
      const endpoints = await netmode.list();
      const deleted: string[] = [];
      for (const n of await netmode.listNetworks()) {
        if (n.predefined || endpoints.some((e) => e.networkId === n.id)) continue;
        if (until && !until.some((t) => Date.parse(n.createdAt) < t)) continue;
        if (!passes(filters, 'label', (v) => labelMatches(n.labels, v))) continue;
        if (filters.get('label!')?.some((v) => labelMatches(n.labels, v))) continue;
        try {
          await netmode.removeNetwork(n.name);
          deleted.push(n.name);
        } catch (error) {
          // A container connected (or another call began removing it) since
          // the listing: it is not unused any more, as dockerd skips it.
          if (isNetModeError(error, ErrorCode.NETWORK_IN_USE) || isNetModeError(error, ErrorCode.BUSY)) continue;
          throw error;
        }
      }
      return { NetworksDeleted: deleted };
    },
  );
}

/**
 * The network `term` names, as dockerd finds it: by full id, then by name,
 * then by a prefix of the id that only one network has.
 */
export async function findNetwork(netmode: NetworkManager, term: string): Promise<NetworkRecord> {
  const all = await netmode.listNetworks();
  const found = all.find((n) => n.id === term) ?? all.find((n) => n.name === term);
  if (found) return found;
  const prefixed = all.filter((n) => n.id.startsWith(term));
  if (prefixed.length > 1) {
    throw new ApiError(400, ErrorCode.INVALID_CONFIG, `network ${term} is ambiguous (${prefixed.length} matches found based on ID prefix)`, {
      network: term,
    });
  }
  if (prefixed[0]) return prefixed[0];
  throw notFound(term);
}

function notFound(term: string): NetModeError {
  return new NetModeError(ErrorCode.NETWORK_NOT_FOUND, `network ${term} not found`, { context: { network: term } });
}

function refuseUnless(ok: boolean, message: string): void {
  if (!ok) throw new NetModeError(ErrorCode.UNSUPPORTED, message);
}

function unsupportedFilter(message: string): ApiError {
  return new ApiError(400, ErrorCode.INVALID_CONFIG, message, { field: 'filters' });
}

function parseBool(value: string): boolean | undefined {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  return undefined;
}

/** dockerd's time filters: Unix seconds (fractions allowed) or an RFC 3339 time. */
export function parseTime(value: string, field: string): number {
  if (/^[0-9]+(\.[0-9]+)?$/.test(value)) return Number(value) * 1000;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new ApiError(400, ErrorCode.INVALID_CONFIG, `${field}: ${JSON.stringify(value)} is not a time`, { field });
  return ms;
}
