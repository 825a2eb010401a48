import { request } from 'node:http';
import { ErrorCode, NetModeError } from '@netmode/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createApiServer } from '../src/index.js';
import { fakeManager } from './support/fake-manager.js';

describe('event streams', () => {
  let server: FastifyInstance;
  let fake: ReturnType<typeof fakeManager>;
  let port: number;

  /** Opens a stream; resolves once the headers are in, with the lines read so far and a closer. */
  const open = (path: string) =>
    new Promise<{ status: number; type: string; lines: unknown[]; close(): void }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path }, (res) => {
        const lines: unknown[] = [];
        let partial = '';
        res.on('data', (d: Buffer) => {
          const parts = (partial + d.toString()).split('\n');
          partial = parts.pop() ?? '';
          for (const p of parts) lines.push(JSON.parse(p));
        });
        resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), lines, close: () => req.destroy() });
      });
      req.on('error', reject);
      req.end();
    });

  beforeEach(async () => {
    fake = fakeManager();
    server = createApiServer(fake.netmode);
    await server.listen({ host: '127.0.0.1', port: 0 });
    port = (server.server.address() as { port: number }).port;
  });
  afterEach(() => server.close());

  it("streams Docker's network events, filtered, one JSON object per line", async () => {
    const all = await open('/v1.43/events');
    const connects = await open(`/events?filters=${encodeURIComponent(JSON.stringify({ type: ['network'], event: { connect: true } }))}`);
    const containers = await open(`/events?filters=${encodeURIComponent(JSON.stringify({ type: ['container'] }))}`);
    expect(all.status).toBe(200);
    expect(all.type).toBe('application/json');
    const network = await fake.netmode.createNetwork({ name: 'n1', driver: 'bridge' });
    await fake.netmode.connect('c1', 'n1');
    await fake.netmode.disconnect('c1', 'n1');
    await fake.netmode.removeNetwork('n1');
    await expect.poll(() => all.lines.length).toBe(4);
    expect(all.lines.map((l) => (l as { Action: string }).Action)).toEqual(['create', 'connect', 'disconnect', 'destroy']);
    expect(all.lines[1]).toEqual({
      Type: 'network',
      Action: 'connect',
      Actor: { ID: network.id, Attributes: { container: 'c1', name: 'n1', type: 'bridge' } },
      scope: 'local',
      time: expect.any(Number),
      timeNano: expect.any(Number),
    });
    expect(connects.lines).toHaveLength(1);
    expect(containers.lines).toEqual([]);
    for (const s of [all, connects, containers]) s.close();
    await expect.poll(() => fake.events.listenerCount('network:created')).toBe(0);
  });

  it("streams netmode's own events with errors as {code, message}, and ends streams when the server closes", async () => {
    const stream = await open('/netmode/v1/events');
    const error = new NetModeError(ErrorCode.PORT_ALLOCATED, 'port 80 is taken');
    fake.events.emit('endpoint:failed', { containerId: 'c1', network: 'bridge', driver: 'bridge', error, rolledBack: true });
    fake.events.emit('warning', { code: 'X', message: 'hm' });
    await expect.poll(() => stream.lines.length).toBe(2);
    expect(stream.lines[0]).toEqual({
      event: 'endpoint:failed',
      payload: {
        containerId: 'c1',
        network: 'bridge',
        driver: 'bridge',
        error: { code: 'ERR_PORT_ALLOCATED', message: 'port 80 is taken' },
        rolledBack: true,
      },
    });
    expect(stream.lines[1]).toEqual({ event: 'warning', payload: { code: 'X', message: 'hm' } });
    await server.close();
    expect(fake.events.listenerCount('warning')).toBe(0);
  });

  it('ends a Docker event stream at until', async () => {
    const started = Date.now();
    const stream = await open(`/events?until=${(Date.now() + 300) / 1000}`);
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (fake.events.listenerCount('network:created') === 0) {
          clearInterval(check);
          resolve();
        }
      }, 20);
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    stream.close();
  });
});
