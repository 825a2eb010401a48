import type { NetworkSpec, SubnetConfig } from '@netmode/core';
import { ExitCode } from '../../cli-error.js';
import type { NetworkCreateInput } from '../../inputs/network.js';
import type { Session } from '../../session.js';

/** `netmode network create [OPTIONS] NAME` */
export async function networkCreateCommand(session: Session, { options, name }: NetworkCreateInput): Promise<number> {
  const { subnet, gateway } = options;
  const ipRange = options['ip-range'];
  const subnets: SubnetConfig[] | undefined =
    subnet === undefined
      ? undefined
      : [{ subnet, ...(gateway === undefined ? {} : { gateway }), ...(ipRange === undefined ? {} : { ipRange }) }];
  const spec: NetworkSpec = {
    name,
    driver: options.driver ?? 'bridge',
    ...(subnets ? { subnets } : {}),
    ...(options.internal ? { internal: true } : {}),
    options: Object.fromEntries(options.opt),
  };
  const netmode = session.netmode;
  const network = await session.out.progress(`creating network ${spec.name}`, () => netmode.createNetwork(spec));
  session.out.line(network.name);
  return ExitCode.OK;
}
