import {
  ErrorCode,
  injectable,
  NetModeError,
  refuseOptions,
  UndoStack,
  type AttachRequest,
  type AttachResult,
  type CheckReport,
  type DriverContext,
  type Endpoint,
  type NetworkDriver,
  type NetworkSpec,
} from '@netmode/core';

// Everything about the network belongs to the target's sandbox; a joiner
// brings nothing of its own.
const REFUSED_OPTIONS = ['ports', 'ip', 'mac', 'ifname', 'netns'] as const;

/**
 * Docker's `container:NAME` mode: the container joins the sandbox of another
 * connected container. Nothing is created or removed; the manager resolves
 * the target (following chains to the sandbox's owner) and keeps the
 * sandbox alive while joiners use it.
 */
@injectable()
export class ContainerDriver implements NetworkDriver {
  readonly name = 'container';
  /** Docker's {host,none,container:} modes: the container's whole sandbox, combined with no other network. */
  readonly wholeSandbox = true;
  readonly predefinedNetworks: readonly NetworkSpec[] = [{ name: 'container', driver: 'container' }];

  validate(request: AttachRequest): void {
    refuseOptions(
      request.options,
      REFUSED_OPTIONS,
      "cannot be used in container:NAME mode: the network is the target's (publish ports, set addresses on the target)",
    );
    if (!request.target) {
      throw new NetModeError(ErrorCode.ENDPOINT_NOT_FOUND, 'container:NAME needs a connected target', {
        context: { containerId: request.containerId },
      });
    }
  }

  async attach(request: AttachRequest, ctx: DriverContext): Promise<AttachResult> {
    const target = request.target as Endpoint;
    try {
      // The target's sandbox must still be there (it could have been deleted behind netmode's back).
      await ctx.sandboxes.inode(target.netns);
    } catch (error) {
      // Nothing was changed; say so, so the manager drops the record.
      throw await new UndoStack().rollback(error);
    }
    return {
      netns: target.netns,
      ownsNetns: false,
      interfaces: [],
      // What the joiner sees is the target's network.
      addresses: target.addresses,
      gateways: target.gateways,
      ports: [],
      driverData: { target: target.id },
    };
  }

  async detach(): Promise<void> {
    // The sandbox is the target's; the manager decides when it goes.
  }

  async check(endpoint: Endpoint, ctx: DriverContext): Promise<CheckReport> {
    const exists = await ctx.sandboxes.exists(endpoint.netns);
    return { ok: exists, problems: exists ? [] : ['the shared sandbox namespace is gone'] };
  }
}
