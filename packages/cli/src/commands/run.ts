import { ExitCode } from '../cli-error.js';
import { runDetached, runForeground } from '../containers/lifecycle.js';
import type { RunInput } from '../inputs/run.js';
import type { Session } from '../session.js';

/** `netmode run [OPTIONS] [--] CMD [ARGS...]` */
export async function runCommand(session: Session, { options, command }: RunInput): Promise<number> {
  const { name, ip } = options;
  const mac = options['mac-address'];
  const spec = {
    mode: options.net ?? 'bridge',
    command,
    ports: options.publish,
    ...(name === undefined ? {} : { name }),
    ...(ip === undefined ? {} : { ip }),
    ...(mac === undefined ? {} : { mac }),
  };
  if (options.detach) {
    const { record } = await runDetached(session, spec);
    session.out.line(record.name);
    return ExitCode.OK;
  }
  return (await runForeground(session, spec, 'inherit')).exitCode;
}
