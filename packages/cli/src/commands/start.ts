import { startContainer } from '../containers/lifecycle.js';
import type { StartInput } from '../inputs/start.js';
import type { Session } from '../session.js';
import { eachName } from './each-name.js';

/** `netmode start NAME...` */
export async function startCommand(session: Session, { names }: StartInput): Promise<number> {
  return eachName(session, names, (name) => startContainer(session, name));
}
