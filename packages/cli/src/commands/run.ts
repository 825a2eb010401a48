import { ExitCode } from '../cli-error.js';
import { runDetached, runForeground, type RunSpec } from '../containers/lifecycle.js';
import { runNameSettings, runNetworks, type RunInput } from '../inputs/run.js';
import type { Session } from '../session.js';

/** `netmode run [OPTIONS] [--] CMD [ARGS...]` */
export async function runCommand(session: Session, { options, command }: RunInput): Promise<number> {
  const { name } = options;
  const spec: RunSpec = {
    networks: runNetworks(options),
    command,
    ports: options.publish,
    names: runNameSettings(options),
    ...(options.rm ? { autoRemove: true } : {}),
    ...(name === undefined ? {} : { name }),
  };
  if (options.detach) {
    const { record } = await runDetached(session, spec);
    session.out.line(record.name);
    return ExitCode.OK;
  }
  return (await runForeground(session, spec, 'inherit')).exitCode;
}
