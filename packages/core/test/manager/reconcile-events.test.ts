// netmode first: it loads reflect-metadata, which tsyringe needs before it loads.
import { describe, expect, it } from 'vitest';
import {
  Lifecycle,
  MemoryStateStore,
  NETWORK_DRIVER,
  inject,
  injectable,
  type AttachResult,
  type DependencyContainer,
  type NetworkDriver,
  type NetworkSpec,
  type ReconcileReport,
} from '../../src/index.js';
import { RecordingRunner } from '../../src/testing/recording-runner.js';
import { createNetMode } from '../../src/create.js';

const REPAIR = Symbol.for('netmode.test.repair-answer');

/** What the driver's repair() resolves to: `false` (nothing was wrong), `true`, or nothing. */
interface RepairAnswer {
  value: boolean | undefined;
  calls: number;
}

/**
 * A driver whose endpoints live in this process's own namespace (so the
 * sandbox always exists) and whose repair() answers as the test says.
 */
@injectable()
class RepairingDriver implements NetworkDriver {
  readonly name = 'repairing';
  readonly predefinedNetworks: readonly NetworkSpec[] = [{ name: 'repairing', driver: 'repairing' }];

  constructor(@inject(REPAIR) private readonly answer: RepairAnswer) {}

  validate(): void {}

  async attach(): Promise<AttachResult> {
    return { netns: { kind: 'path', path: '/proc/self/ns/net' }, ownsNetns: false, interfaces: [], addresses: [], gateways: [], ports: [] };
  }

  async detach(): Promise<void> {}

  async check() {
    return { ok: true, problems: [] };
  }

  async repair(): Promise<boolean | void> {
    this.answer.calls += 1;
    return this.answer.value;
  }
}

function setup(answer: RepairAnswer) {
  const netmode = createNetMode({
    drivers: [
      (c: DependencyContainer) => {
        c.register(REPAIR, { useValue: answer });
        c.register(NETWORK_DRIVER, { useClass: RepairingDriver }, { lifecycle: Lifecycle.ContainerScoped });
      },
    ],
    runner: new RecordingRunner(),
    store: new MemoryStateStore(),
  });
  const events: ReconcileReport[] = [];
  netmode.events.on('reconcile:repaired', (e) => events.push(e.report));
  return { netmode, events };
}

describe("reconcile's event", () => {
  it('is not emitted when there is nothing to reconcile (a healthy start-up)', async () => {
    const { netmode, events } = setup({ value: undefined, calls: 0 });
    const report = await netmode.reconcile();
    expect(report).toEqual({ finished: [], lost: [], broken: [], repaired: [], restoredLeases: 0, releasedLeases: 0, failures: [] });
    expect(events).toEqual([]);
  });

  it("is not emitted, and lists no repair, when every driver's repair() found everything right", async () => {
    const answer = { value: false, calls: 0 };
    const { netmode, events } = setup(answer);
    await netmode.connect('web', 'repairing');
    const report = await netmode.reconcile();
    expect(answer.calls).toBe(1);
    expect(report.repaired).toEqual([]);
    expect(events).toEqual([]);
  });

  it.each([true, undefined])('is emitted with the endpoint when repair() put something back (it resolved to %s)', async (value) => {
    const { netmode, events } = setup({ value, calls: 0 });
    await netmode.connect('web', 'repairing');
    const report = await netmode.reconcile();
    expect(report.repaired).toEqual(['web']);
    expect(events).toEqual([report]);
  });
});
