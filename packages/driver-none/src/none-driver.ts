import {
  injectable,
  IpBatch,
  ownsSandbox,
  refuseOptions,
  runIpBatch,
  TeardownSteps,
  UndoStack,
  type AttachRequest,
  type AttachResult,
  type CheckReport,
  type DriverContext,
  type Endpoint,
  type NetworkDriver,
  type NetworkSpec,
} from '@netmode/core';

// Options that configure an interface or publish a port have nothing to act on
// in a namespace that holds only the loopback device.
const REFUSED_OPTIONS = ['ports', 'ip', 'mac', 'ifname'] as const;

/** Docker's `none` mode: a sandbox with `lo` up and nothing else. */
@injectable()
export class NoneDriver implements NetworkDriver {
  readonly name = 'none';
  /** Docker's {host,none,container:} modes: the container's whole sandbox, combined with no other network. */
  readonly wholeSandbox = true;
  readonly predefinedNetworks: readonly NetworkSpec[] = [{ name: 'none', driver: 'none' }];

  validate(request: AttachRequest): void {
    refuseOptions(request.options, REFUSED_OPTIONS, 'cannot be used in none mode: the sandbox has no interface but lo');
  }

  async attach(request: AttachRequest, ctx: DriverContext): Promise<AttachResult> {
    const undo = new UndoStack();
    try {
      const given = request.options.netns;
      if (given) {
        // The runtime's own namespace: bring lo up and leave the rest alone.
        await ctx.sandboxes.assertNotHost(given, ctx.hostNetns);
        await runIpBatch(ctx.runner, given, new IpBatch().linkUp('lo'), ctx.signal);
        return result(given, false);
      }
      const netns = await ctx.sandboxes.create(ctx.sandboxName(request.containerId), { signal: ctx.signal });
      undo.push('netns', ctx.sandboxName(request.containerId), () => ctx.sandboxes.delete(netns));
      return result(netns, true);
    } catch (error) {
      throw await undo.rollback(error);
    }
  }

  async detach(endpoint: Endpoint, ctx: DriverContext): Promise<void> {
    if (!ownsSandbox(endpoint, ctx)) return;
    const steps = new TeardownSteps();
    await steps.step('netns', ctx.sandboxName(endpoint.containerId), () => ctx.sandboxes.delete(endpoint.netns));
    steps.finish(`detaching ${endpoint.containerId}`);
  }

  async check(endpoint: Endpoint, ctx: DriverContext): Promise<CheckReport> {
    if (!(await ctx.sandboxes.exists(endpoint.netns))) {
      return { ok: false, problems: ['the sandbox namespace is gone'] };
    }
    const { stdout } = await ctx.runner.run({ command: 'ip', args: ['-json', 'link', 'show'], netns: endpoint.netns });
    const links = JSON.parse(stdout) as { ifname: string; flags?: string[] }[];
    const problems: string[] = [];
    const lo = links.find((link) => link.ifname === 'lo');
    if (!lo?.flags?.includes('UP')) problems.push('lo is not up');
    if (endpoint.ownsNetns) {
      for (const link of links) if (link.ifname !== 'lo') problems.push(`unexpected interface ${link.ifname}`);
    }
    return { ok: problems.length === 0, problems };
  }
}

function result(netns: AttachResult['netns'], ownsNetns: boolean): AttachResult {
  return { netns, ownsNetns, interfaces: [], addresses: [], gateways: [], ports: [] };
}
