import { ExitCode } from '../cli-error.js';
import { runDetached, runForeground, type RunSpec } from '../containers/lifecycle.js';
import type { RunInput } from '../inputs/run.js';
import type { Session } from '../session.js';

/** `netmode run [OPTIONS] [--] CMD [ARGS...]` */
export async function runCommand(session: Session, { options, command }: RunInput): Promise<number> {
  const { name, ip } = options;
  const mac = options['mac-address'];
  const gwPriority = options['gw-priority'];
  const spec: RunSpec = {
    networks: options.net.length > 0 ? options.net : ['bridge'],
    command,
    ports: options.publish,
    aliases: options['network-alias'],
    ...(name === undefined ? {} : { name }),
    ...(ip === undefined ? {} : { ip }),
    ...(mac === undefined ? {} : { mac }),
    ...(gwPriority === undefined ? {} : { gwPriority }),
  };
  if (options.detach) {
    const { record } = await runDetached(session, spec);
    session.out.line(record.name);
    return ExitCode.OK;
  }
  return (await runForeground(session, spec, 'inherit')).exitCode;
}
