import { ExitCode } from '../../cli-error.js';
import { disconnectNetwork } from '../../containers/networks.js';
import type { NetworkDisconnectInput } from '../../inputs/network.js';
import type { Session } from '../../session.js';

/** `netmode network disconnect NETWORK CONTAINER`: prints nothing, as Docker. */
export async function networkDisconnectCommand(session: Session, { network, container }: NetworkDisconnectInput): Promise<number> {
  await disconnectNetwork(session, container, network);
  return ExitCode.OK;
}
