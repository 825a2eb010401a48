import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { integrationAvailable } from '../../src/testing/netns-fixture.js';
import { afterAll, describe, expect, it } from 'vitest';
import { requireBuilt } from '../support/children.js';

const STORE = fileURLToPath(new URL('../../dist/store/file-store.js', import.meta.url));
let dir: string | undefined;

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

// Needs root to start a process as another user.
describe.skipIf(!integrationAvailable())('a state directory the process may not use', () => {
  it('gives ERR_PERMISSION naming the directory, not a raw file system error', async () => {
    requireBuilt('store/file-store');
    dir = await mkdtemp(join(tmpdir(), 'netmode-test-'));
    const script = `
      const { FileStateStore } = await import(${JSON.stringify(STORE)});
      try { await new FileStateStore(${JSON.stringify(join(dir, 'state'))}).transaction(async (tx) => tx.put('a/b', 1)); console.log('accepted'); }
      catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;
    // As nobody, the root-owned 0700 temporary directory cannot be entered.
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { uid: 65534, gid: 65534 });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((resolve) => child.on('exit', resolve));
    const result = JSON.parse(out.trim()) as { code: string; message: string };
    expect(result.code).toBe('ERR_PERMISSION');
    expect(result.message).toContain(join(dir, 'state'));
  });
});
