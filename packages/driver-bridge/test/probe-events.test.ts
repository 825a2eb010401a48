import { MemoryStateStore, createNetMode, expectedAnswer, type CommandResult, type CommandRunner, type CommandSpec } from '@netmode/core';
import { RecordingRunner } from '@netmode/core/testing';
import { describe, expect, it } from 'vitest';
import { registerBridgeDriver } from '../src/index.js';

/** Every command a runner was given, with the error it failed with, if any. */
class Outcomes implements CommandRunner {
  readonly runs: { spec: CommandSpec; error?: unknown }[] = [];
  constructor(private readonly inner: CommandRunner) {}
  async run(spec: CommandSpec): Promise<CommandResult> {
    try {
      const result = await this.inner.run(spec);
      this.runs.push({ spec });
      return result;
    } catch (error) {
      this.runs.push({ spec, error });
      throw error;
    }
  }
}

// A host that never saw netmode: no bridge, no nft table, no UDP flow to
// flush. Each is asked about before it is made, and "missing" is the answer.
function freshHost(): RecordingRunner {
  return new RecordingRunner()
    .failOn((s) => s.command === 'ip' && s.args.join(' ').startsWith('-json -details address show dev'), 'Cannot find device "netmode0"')
    .failOn(
      (s) => s.command === 'nft' && s.args.includes('list'),
      'Error: No such file or directory; did you mean table ‘netmode’ in family inet?',
    )
    .failOn((s) => s.command === 'conntrack', 'conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.');
}

describe('a healthy first connect to the bridge network', () => {
  it('fails no command except probes that expected the answer "missing" (command:exec reports them as not failed)', async () => {
    const runner = new Outcomes(freshHost());
    const netmode = createNetMode({ drivers: [registerBridgeDriver], runner, store: new MemoryStateStore() });
    await netmode.connect('web', 'bridge', { ports: [{ hostPort: 5353, containerPort: 53, protocol: 'udp' }] });
    const failed = runner.runs.filter((r) => r.error !== undefined);
    const probes = failed.map((r) => `${r.spec.command} ${r.spec.args.join(' ')}`);
    // The bridge, the nft table, the UDP flows to flush.
    expect(probes).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^ip -json -details address show dev netmode0$/),
        expect.stringMatching(/^nft -j -t list table inet netmode$/),
        expect.stringMatching(/^conntrack -D -p udp/),
      ]),
    );
    for (const { spec, error } of failed) expect(expectedAnswer(spec, error), `${spec.command} ${spec.args.join(' ')}`).toBe('missing');
  });
});
