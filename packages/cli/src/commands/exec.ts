import { execInContainer } from '../containers/lifecycle.js';
import type { ExecInput } from '../inputs/exec.js';
import type { Session } from '../session.js';

/** `netmode exec NAME [--] CMD [ARGS...]` */
export async function execCommand(session: Session, { name, command }: ExecInput): Promise<number> {
  return (await execInContainer(session, name, command, 'inherit')).exitCode;
}
