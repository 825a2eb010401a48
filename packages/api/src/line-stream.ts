import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyReply } from 'fastify';
import type { RouteContext } from './context.js';
import { serializeError } from './errors.js';

/** Called with each value to send; returns nothing. */
export type LineWriter = (value: unknown) => void;

/**
 * Answers with a stream of JSON values, one per line, as dockerd's
 * `/events`: the headers go out at once (clients wait for them before they
 * read), then one line per value `subscribe` writes, until the client goes,
 * the server closes or `untilMs` passes. Errors anywhere in a value are
 * written as `{code, message}`.
 */
export function streamLines(reply: FastifyReply, ctx: RouteContext, subscribe: (write: LineWriter) => () => void, untilMs?: number): void {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { ...(reply.getHeaders() as OutgoingHttpHeaders), 'content-type': 'application/json', 'cache-control': 'no-cache' });
  res.flushHeaders();
  let open = true;
  let timer: NodeJS.Timeout | undefined;
  const end = () => {
    if (!open) return;
    open = false;
    unsubscribe();
    ctx.streams.delete(end);
    if (timer) clearTimeout(timer);
    res.end();
  };
  const unsubscribe = subscribe((value) => {
    if (open) res.write(`${JSON.stringify(value, plainErrors)}\n`);
  });
  ctx.streams.add(end);
  res.on('close', end);
  if (untilMs !== undefined) timer = setTimeout(end, Math.max(0, untilMs - Date.now()));
}

// JSON.stringify hands a replacer what toJSON() made; `this[key]` is the
// value itself, so an error is caught before NetModeError.toJSON runs.
function plainErrors(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const original = this[key];
  return original instanceof Error ? serializeError(original) : value;
}
