import type { EndpointEvent, NetworkEvent } from '@netmode/core';
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../context.js';
import { streamLines, type LineWriter } from '../line-stream.js';
import { parseFilters, passes, type Filters } from './filters.js';
import { parseTime } from './network-routes.js';
import { EventsQuery } from './schemas.js';

const EVENT_FILTERS = ['container', 'event', 'network', 'scope', 'type'] as const;

/** One event as dockerd writes it on `/events`. */
export interface DockerEvent {
  readonly Type: 'network';
  readonly Action: 'create' | 'destroy' | 'connect' | 'disconnect';
  readonly Actor: { readonly ID: string; readonly Attributes: Readonly<Record<string, string>> };
  readonly scope: 'local';
  readonly time: number;
  readonly timeNano: number;
}

/**
 * `GET /events`: netmode's lifecycle events as Docker's network events, one
 * JSON object per line. netmode keeps no history: `since` is accepted and
 * nothing before the request is replayed; `until` ends the stream.
 */
export function registerEventRoutes(server: FastifyInstance, ctx: RouteContext): void {
  server.get(
    '/events',
    {
      config: { docker: true },
      schema: { summary: "Stream netmode's network events as Docker's", operationId: 'SystemEvents', querystring: EventsQuery },
    },
    (request, reply) => {
      const query = request.query as { since?: string; until?: string; filters?: string };
      const filters = parseFilters(query.filters, EVENT_FILTERS);
      const until = query.until === undefined || query.until === '' ? undefined : parseTime(query.until, 'until');
      if (query.since !== undefined && query.since !== '') parseTime(query.since, 'since');
      streamLines(reply, ctx, (write) => subscribe(ctx, filters, write), until);
    },
  );
}

function subscribe(ctx: RouteContext, filters: Filters, write: LineWriter): () => void {
  const send = (event: DockerEvent) => {
    const a = event.Actor.Attributes;
    if (
      passes(filters, 'type', (v) => v === 'network') &&
      passes(filters, 'event', (v) => v === event.Action) &&
      passes(filters, 'scope', (v) => v === 'local') &&
      passes(filters, 'network', (v) => v === event.Actor.ID || v === a['name']) &&
      passes(filters, 'container', (v) => v === a['container'])
    ) {
      write(event);
    }
  };
  const created = ({ network }: NetworkEvent) => send(dockerEvent('create', network.id, { name: network.name, type: network.driver }));
  const removed = ({ network }: NetworkEvent) => send(dockerEvent('destroy', network.id, { name: network.name, type: network.driver }));
  const attached = ({ endpoint: e }: EndpointEvent) =>
    send(dockerEvent('connect', e.networkId, { container: e.containerId, name: e.network, type: e.driver }));
  const detached = ({ endpoint: e }: EndpointEvent) =>
    send(dockerEvent('disconnect', e.networkId, { container: e.containerId, name: e.network, type: e.driver }));
  const events = ctx.netmode.events;
  events.on('network:created', created);
  events.on('network:removed', removed);
  events.on('endpoint:attached', attached);
  events.on('endpoint:detached', detached);
  return () => {
    events.off('network:created', created);
    events.off('network:removed', removed);
    events.off('endpoint:attached', attached);
    events.off('endpoint:detached', detached);
  };
}

function dockerEvent(action: DockerEvent['Action'], id: string, attributes: Record<string, string>): DockerEvent {
  const ms = Date.now();
  return { Type: 'network', Action: action, Actor: { ID: id, Attributes: attributes }, scope: 'local', time: Math.floor(ms / 1000), timeNano: ms * 1e6 };
}
