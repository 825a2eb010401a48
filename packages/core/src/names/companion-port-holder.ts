import { ErrorCode, NetModeError } from '../errors.js';
import type { HostPortHolder, PortLease } from '../ports/types.js';
import type { PortRefusal } from './companion-control.js';
import type { NameService } from './name-service.js';

/**
 * The default {@link HostPortHolder}: the companion process of the state
 * directory, in the host namespace, asked over its control socket. The
 * companion is started before the allocator's transaction (starting it
 * takes the state lock), and asked to bind inside it.
 */
export class CompanionPortHolder implements HostPortHolder {
  readonly #names: NameService;

  constructor(names: NameService) {
    this.#names = names;
  }

  async prepare(): Promise<void> {
    if (!(await this.#names.ensureCompanion())) throw holderDown('could not be started');
  }

  async hold(owner: string, leases: readonly PortLease[]): Promise<void> {
    if (leases.length === 0) return;
    const reply = await this.#names.ask({ op: 'hold', owner, leases });
    // Gone between prepare() and now (it had just decided it was idle): the
    // transaction fails and nothing was published; a retry starts another.
    if (!reply) throw holderDown('stopped answering');
    const refused = reply.refused ?? [];
    if (refused.length > 0) throw portsInUse(owner, refused);
  }

  async release(owner: string): Promise<void> {
    await this.#names.ask({ op: 'release', owner });
  }
}

function holderDown(what: string): NetModeError {
  return new NetModeError(
    ErrorCode.PORT_HOLDER,
    `the companion process that holds published host ports ${what}; nothing was published (see companion.log in the state directory)`,
  );
}

function portsInUse(owner: string, refused: readonly PortRefusal[]): NetModeError {
  const first = refused[0] as PortRefusal;
  const where = first.hostIp ?? 'every address';
  const who = first.holder === undefined ? '' : ` by ${first.holder}`;
  return new NetModeError(
    ErrorCode.PORT_ALLOCATED,
    `host port ${first.hostPort}/${first.protocol} on ${where} is in use${who} (${first.error}); nothing was published`,
    {
      context: {
        protocol: first.protocol,
        hostPort: first.hostPort,
        ...(first.hostIp === undefined ? {} : { hostIp: first.hostIp }),
        ...(first.holder === undefined ? {} : { holder: first.holder }),
        owner,
        busy: refused.map((r) => ({ protocol: r.protocol, hostPort: r.hostPort, ...(r.hostIp === undefined ? {} : { hostIp: r.hostIp }) })),
      },
    },
  );
}
