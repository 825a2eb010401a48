import { readFileSync } from 'node:fs';
import { createApiServer, listenAll, parseHost } from '@netmode/api';
import { currentProcess } from '@netmode/core';
import { ExitCode } from '../cli-error.js';
import { DEFAULT_DAEMON_HOST, type DaemonInput } from '../inputs/daemon.js';
import type { Session } from '../session.js';
import { givenSettings } from '../settings/daemon-settings.js';
import { holdSettings } from '../settings/settings-record.js';

function version(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/**
 * `netmode daemon`: one manager for every client, with the settings in
 * force (session.ts): it holds them while it runs. Reconciles first (a
 * daemon killed in the middle of a connect left it half-done), then serves
 * until SIGTERM or SIGINT; then it stops taking requests and waits for those
 * in flight, so that no operation is cut in the middle, and exits 0.
 */
export async function daemonCommand(session: Session, { options }: DaemonInput): Promise<number> {
  const hosts = options.host.length > 0 ? options.host : [session.globals.host ?? DEFAULT_DAEMON_HOST];
  // Every address is checked before anything is touched.
  const specs = hosts.map((host) => parseHost(host));
  const netmode = session.manager;

  // Signals are caught from the start: one during the reconcile waits for its end.
  let stopping: NodeJS.Signals | undefined;
  let stop: (() => void) | undefined;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      session.out.note(`${signal}: still finishing the requests in flight (SIGKILL ends now; the next daemon's reconcile repairs)`);
      return;
    }
    stopping = signal;
    stop?.();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // Its manager keeps the settings it started with: while it runs, no other process may change those stored.
  const me = currentProcess();
  await holdSettings(session.store, me, givenSettings(session.globals));
  try {
    const report = await netmode.reconcile();
    const repaired = report.finished.length + report.lost.length + report.broken.length + report.repaired.length;
    session.out.note(`reconciled: ${repaired} repaired, ${report.releasedLeases} leases released`);
    for (const failure of report.failures) session.out.warn(`reconcile could not: ${failure}`);
    if (stopping) return ExitCode.OK;

    const server = createApiServer(netmode, { version: version() });
    const tls =
      options.tlsverify && options.tlscacert !== undefined && options.tlscert !== undefined && options.tlskey !== undefined
        ? { ca: readFileSync(options.tlscacert), cert: readFileSync(options.tlscert), key: readFileSync(options.tlskey), verify: true }
        : undefined;
    const close = await listenAll(server, specs, { ...(options.group === undefined ? {} : { group: options.group }), ...(tls && { tls }) });
    for (const where of close.addresses) session.out.line(`listening on ${where}`);
    await stopped;
    session.out.note(`${stopping}: no new requests; finishing those in flight`);
    // Stops accepting, ends the event streams, waits for the requests in flight, removes the unix sockets.
    await close();
    session.out.note('stopped');
    return ExitCode.OK;
  } finally {
    await holdSettings(session.store, me, givenSettings(session.globals), true);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
