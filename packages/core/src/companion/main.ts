import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { EmbeddedDnsServer } from '../names/dns/embedded-dns-server.js';
import { FileStateStore } from '../store/file-store.js';
import { Companion } from './companion.js';

/**
 * The companion process's entry: `node companion/main.js --state DIR
 * --resolv-conf PATH [--port 53] [--upstream-timeout MS] [--idle-exit MS]`, started by the
 * SDK in the host namespace (never by hand), detached, its output in
 * `DIR/companion.log`.
 *
 * @module
 */

/** Runs the companion until it exits (nothing needs it, SIGTERM, its state directory gone). */
export async function runCompanion(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      state: { type: 'string' },
      'resolv-conf': { type: 'string', default: '/etc/resolv.conf' },
      port: { type: 'string', default: '53' },
      'upstream-timeout': { type: 'string', default: '2000' },
      'idle-exit': { type: 'string', default: '5000' },
    },
  });
  if (values.state === undefined) throw new Error('--state DIR is required');
  const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  const server = new EmbeddedDnsServer({ port: Number(values.port), upstreamTimeoutMs: Number(values['upstream-timeout']), log });
  const companion = new Companion(
    { stateDir: values.state, hostResolvConf: values['resolv-conf'], log, idleExitMs: Number(values['idle-exit']) },
    new FileStateStore(values.state),
    server,
  );
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.once(signal, () => void companion.shutdown(`got ${signal}`));
  }
  await companion.start();
  await companion.exited;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runCompanion(process.argv.slice(2)).then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(
        `${new Date().toISOString()} companion failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(1);
    },
  );
}
