import {
  inject,
  injectable,
  invalidConfig,
  refuseOptions,
  UndoStack,
  type AttachRequest,
  type AttachResult,
  type CheckReport,
  type DriverContext,
  type NetworkDriver,
  type NetworkSpec,
} from '@netmode/core';
import { HOST_DRIVER_OPTIONS, type ResolvedHostOptions } from './options.js';

// The container shares the host's interfaces, so nothing of its own can be
// configured; the namespace is the host's by definition.
const REFUSED_OPTIONS = ['ip', 'mac', 'ifname', 'netns'] as const;

/** Docker's `host` mode: the container runs in the host namespace; nothing is created. */
@injectable()
export class HostDriver implements NetworkDriver {
  readonly name = 'host';
  /** Docker's {host,none,container:} modes: the container's whole sandbox, combined with no other network. */
  readonly wholeSandbox = true;
  readonly predefinedNetworks: readonly NetworkSpec[] = [{ name: 'host', driver: 'host' }];

  constructor(@inject(HOST_DRIVER_OPTIONS) private readonly options: ResolvedHostOptions) {}

  validate(request: AttachRequest): void {
    refuseOptions(request.options, REFUSED_OPTIONS, 'cannot be used in host mode: the container shares the host namespace');
    if (this.options.publishedPorts === 'reject' && (request.options.ports?.length ?? 0) > 0) {
      throw invalidConfig('ports', 'cannot be published in host mode: the container already listens on the host');
    }
  }

  async attach(request: AttachRequest, ctx: DriverContext): Promise<AttachResult> {
    // Fails with ERR_NETNS_NOT_FOUND when a configured host namespace is gone;
    // nothing was changed, which the manager learns from `rolledBack`.
    await ctx.sandboxes.inode(ctx.hostNetns).catch(async (error: unknown) => {
      throw await new UndoStack().rollback(error);
    });
    if ((request.options.ports?.length ?? 0) > 0) {
      ctx.events.emit('warning', {
        code: 'PORTS_IGNORED_IN_HOST_MODE',
        message: 'published ports are discarded in host mode; the container listens on the host directly',
        containerId: request.containerId,
        network: request.network.name,
      });
    }
    return { netns: ctx.hostNetns, ownsNetns: false, interfaces: [], addresses: [], gateways: [], ports: [] };
  }

  async detach(): Promise<void> {
    // Nothing was created, so nothing is removed.
  }

  async check(_endpoint: unknown, ctx: DriverContext): Promise<CheckReport> {
    const exists = await ctx.sandboxes.exists(ctx.hostNetns);
    return { ok: exists, problems: exists ? [] : ['the host namespace is gone'] };
  }
}
