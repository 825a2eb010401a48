import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { integrationAvailable } from '../../src/testing/index.js';

// The conformance suite must fail a driver that leaks a lease under a wrong
// owner, and one that cannot hold two endpoints at once: it runs here, in a
// vitest of its own, against two drivers with exactly those faults.

const CONFIG = fileURLToPath(new URL('./vitest.config.ts', import.meta.url));
const VITEST = fileURLToPath(new URL('../../../../node_modules/vitest/vitest.mjs', import.meta.url));

interface Report {
  testResults: { name: string; assertionResults: { title: string; ancestorTitles: string[]; status: string }[] }[];
}

async function runSuite(): Promise<Map<string, string>> {
  const dir = await mkdtemp(join(tmpdir(), 'netmode-conformance-'));
  try {
    const out = join(dir, 'report.json');
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [VITEST, 'run', '--config', CONFIG, '--reporter=json', `--outputFile=${out}`], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, CI: 'true' },
      });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      // The run fails (the faulty drivers fail): that is the point; only a missing report is an error.
      child.once('exit', () => resolve());
      child.once('error', (e) => reject(new Error(`${e.message}: ${err}`)));
    });
    const report = JSON.parse(await readFile(out, 'utf8')) as Report;
    const outcome = new Map<string, string>();
    for (const file of report.testResults) {
      const driver = file.name.includes('leaky') ? 'leaky' : 'fixedname';
      for (const test of file.assertionResults) outcome.set(`${driver}: ${test.title}`, test.status);
    }
    return outcome;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe.skipIf(!integrationAvailable())('the conformance suite catches faulty drivers', () => {
  it('fails the one that leaks a lease and the one that cannot hold two endpoints at once, and passes what they do right', async () => {
    const outcome = await runSuite();
    expect(outcome.get('leaky: connects, checks and disconnects, leaving nothing behind')).toBe('failed');
    expect(outcome.get('fixedname: holds two endpoints connected at once, each whole, and removes both')).toBe('failed');
    // What each does right still passes: the faults are what the suite caught.
    expect(outcome.get('leaky: refuses invalid options before any command runs or any record is written')).toBe('passed');
    expect(outcome.get('fixedname: connects, checks and disconnects, leaving nothing behind')).toBe('passed');
  }, 300_000);
});
