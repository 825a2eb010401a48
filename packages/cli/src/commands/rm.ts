import { removeContainer } from '../containers/lifecycle.js';
import type { RmInput } from '../inputs/rm.js';
import type { Session } from '../session.js';
import { eachName } from './each-name.js';

/** `netmode rm [-f] NAME...` */
export async function rmCommand(session: Session, { options, names }: RmInput): Promise<number> {
  return eachName(session, names, (name) => removeContainer(session, name, { force: options.force }));
}
