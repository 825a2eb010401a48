import {
  IpBatch,
  Lifecycle,
  NETWORK_DRIVER,
  TeardownSteps,
  UndoStack,
  endpointOwner,
  inject,
  injectable,
  invalidConfig,
  networkOwner,
  runIpBatch,
  type AttachRequest,
  type AttachResult,
  type DependencyContainer,
  type DriverContext,
  type Endpoint,
  type NetworkDriver,
  type NetworkRecord,
  type NetworkSetup,
  type NetworkSpec,
} from '../../src/index.js';

/** What the fake driver was asked to do, for assertions. */
export interface FakeDriverLog {
  validated: string[];
  attached: string[];
  detached: string[];
}

const LOG = Symbol.for('netmode.test.fake-log');

/**
 * A driver for manager unit tests, registered through DI like a third
 * party's: it takes an address from IPAM on its networks and runs one
 * `ip -batch` per attach through the (recording) runner.
 */
@injectable()
class FakeDriver implements NetworkDriver {
  readonly name = 'fake';
  readonly predefinedNetworks: readonly NetworkSpec[] = [{ name: 'fake0', driver: 'fake' }];

  constructor(@inject(LOG) private readonly log: FakeDriverLog) {}

  validateNetwork(spec: NetworkSpec): void {
    if (spec.options?.['bad'] !== undefined) throw invalidConfig('options.bad', 'is refused by the fake driver');
  }

  async createNetwork(network: NetworkRecord, ctx: DriverContext): Promise<NetworkSetup> {
    const subnet = await ctx.ipam.allocateSubnet(networkOwner(network.id), network.subnets[0] ?? {});
    return { subnets: [subnet], options: network.options };
  }

  async removeNetwork(): Promise<void> {}

  validate(request: AttachRequest): void {
    this.log.validated.push(request.containerId);
    if (request.options.mac !== undefined) throw invalidConfig('mac', 'is refused by the fake driver');
  }

  async attach(request: AttachRequest, ctx: DriverContext): Promise<AttachResult> {
    // A driver bug: a plain error and no word on what was undone.
    if (request.options.labels?.['crash'] === 'plain-error') throw new TypeError('driver bug');
    const undo = new UndoStack();
    try {
      const subnet = request.network.subnets[0];
      const addresses: string[] = [];
      if (subnet) {
        const address = await ctx.ipam.allocateAddress(subnet.subnet, endpointOwner(request.endpointId), {
          ...(request.options.ip ? { address: request.options.ip } : {}),
        });
        undo.push('lease', address, () => ctx.ipam.releaseAddress(subnet.subnet, address));
        addresses.push(`${address}/${subnet.subnet.split('/')[1]}`);
      }
      const netns = { kind: 'named', name: ctx.sandboxName(request.containerId) } as const;
      await runIpBatch(ctx.runner, ctx.hostNetns, new IpBatch().linkUp(ctx.interfaceName(request.endpointId)));
      this.log.attached.push(request.containerId);
      return { netns, ownsNetns: true, interfaces: [], addresses, gateways: [], ports: [] };
    } catch (error) {
      throw await undo.rollback(error);
    }
  }

  async detach(endpoint: Endpoint, ctx: DriverContext): Promise<void> {
    const steps = new TeardownSteps();
    await steps.step('link', ctx.interfaceName(endpoint.id), () =>
      runIpBatch(ctx.runner, ctx.hostNetns, new IpBatch().linkDown(ctx.interfaceName(endpoint.id))),
    );
    this.log.detached.push(endpoint.containerId);
    steps.finish(`detaching ${endpoint.containerId}`);
  }
}

/** Registers the fake driver and returns the log it writes to. */
export function registerFakeDriver(container: DependencyContainer, log: FakeDriverLog): void {
  container.register(LOG, { useValue: log });
  container.register(NETWORK_DRIVER, { useClass: FakeDriver }, { lifecycle: Lifecycle.ContainerScoped });
}

/** A fresh, empty log. */
export function newLog(): FakeDriverLog {
  return { validated: [], attached: [], detached: [] };
}
