import { stopContainer } from '../containers/lifecycle.js';
import type { StopInput } from '../inputs/stop.js';
import type { Session } from '../session.js';
import { eachName } from './each-name.js';

/** How long `stop` and `restart` wait after SIGTERM, unless -t says. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/** `netmode stop [-t SECONDS] NAME...` */
export async function stopCommand(session: Session, { options, names }: StopInput): Promise<number> {
  return eachName(session, names, async (name) => {
    await stopContainer(session, name, options.time ?? DEFAULT_TIMEOUT_MS);
  });
}
