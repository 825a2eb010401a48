import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, netmode } from './support/cli.js';

// No root needed: netmode fails on the state directory before anything else.
describe('the netmode binary with --state-dir at a regular file', () => {
  let dir: string;
  let file: string;

  beforeAll(async () => {
    assertBuilt();
    dir = await mkdtemp(join(tmpdir(), 'netmode-test-'));
    file = join(dir, 'not-a-directory');
    await writeFile(file, 'mine');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  // network ls reads the SDK's records, ps the CLI's own.
  it.each([[['network', 'ls']], [['ps']]])('%j exits 2 with ERR_STATE_DIR_UNUSABLE naming it, not ERR_INTERNAL', async (args) => {
    const result = await netmode(['--state-dir', file, ...args]);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/^ERR_STATE_DIR_UNUSABLE: .+\n {2}hint: Point --state-dir/);
    expect(result.stderr).toContain(file);
    expect(await readFile(file, 'utf8')).toBe('mine');
  });
});
