import { ExitCode } from '../../cli-error.js';
import { connectNetwork } from '../../containers/networks.js';
import type { NetworkConnectInput } from '../../inputs/network.js';
import type { Session } from '../../session.js';

/** `netmode network connect [OPTIONS] NETWORK CONTAINER`: prints nothing, as Docker. */
export async function networkConnectCommand(session: Session, { options, network, container }: NetworkConnectInput): Promise<number> {
  const gwPriority = options['gw-priority'];
  await connectNetwork(session, container, network, {
    aliases: options.alias,
    ...(options.ip === undefined ? {} : { ip: options.ip }),
    ...(gwPriority === undefined ? {} : { gwPriority }),
  });
  return ExitCode.OK;
}
