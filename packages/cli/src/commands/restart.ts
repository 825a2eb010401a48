import { restartContainer } from '../containers/lifecycle.js';
import type { RestartInput } from '../inputs/restart.js';
import type { Session } from '../session.js';
import { DEFAULT_TIMEOUT_MS } from './stop.js';
import { eachName } from './each-name.js';

/** `netmode restart [-t SECONDS] NAME...` */
export async function restartCommand(session: Session, { options, names }: RestartInput): Promise<number> {
  return eachName(session, names, (name) => restartContainer(session, name, options.time ?? DEFAULT_TIMEOUT_MS));
}
