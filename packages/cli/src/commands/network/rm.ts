import type { NetworkRmInput } from '../../inputs/network.js';
import type { Session } from '../../session.js';
import { eachName } from '../each-name.js';

/** `netmode network rm NAME...` */
export async function networkRmCommand(session: Session, { names }: NetworkRmInput): Promise<number> {
  const netmode = session.netmode;
  return eachName(session, names, async (name) => {
    // The SDK's removal is idempotent; at the shell a name that names nothing is an error, as in Docker.
    await netmode.inspectNetwork(name);
    await session.out.progress(`removing network ${name}`, () => netmode.removeNetwork(name));
  });
}
