// A CommonJS application: compiled to require() calls, which load the ES
// module packages through Node's require(esm). Connects and disconnects an
// endpoint in mode `none`, in a throwaway host namespace.
// Usage: node dist/main.js PREFIX NAME (PREFIX: a netmode namePrefix; root).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStateStore, createNetMode, isNetModeError, namedNetns, netnsPath } from '@netmode/core';
import { RecordingRunner } from '@netmode/core/testing';
import { registerNoneDriver } from '@netmode/driver-none';

async function main(): Promise<void> {
  const [prefix = 'npk', name = 'cjs'] = process.argv.slice(2);

  // The testing kit loads no test runner: vitest is not installed here.
  let vitest = false;
  try {
    require.resolve('vitest');
    vitest = true;
  } catch {
    // As it should be.
  }
  if (vitest) throw new Error('vitest is installed in the consumer project: the check would prove nothing');
  const recorder = new RecordingRunner();
  const dry = createNetMode({ drivers: [registerNoneDriver], runner: recorder, store: new MemoryStateStore() });
  await dry.connect('recorded', 'none');
  if (recorder.commands.length === 0) throw new Error('the recording runner recorded no command');

  const host = `${prefix}${name}`;
  const stateDir = mkdtempSync(join(tmpdir(), 'netmode-consumer-'));
  execFileSync('ip', ['netns', 'add', host]);
  try {
    const netmode = createNetMode({ drivers: [registerNoneDriver], hostNetns: namedNetns(host), stateDir, namePrefix: prefix });
    const endpoint = await netmode.connect('web', 'none');
    const path = netnsPath(endpoint.netns);
    if (!existsSync(path)) throw new Error(`connect returned ${path}, which does not exist`);
    await netmode.disconnect('web');
    if (existsSync(path)) throw new Error(`disconnect left ${path}`);
    console.log(`connected web in ${path} and disconnected it`);
  } finally {
    execFileSync('ip', ['netns', 'delete', host]);
    rmSync(stateDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(isNetModeError(error) ? `${error.code}: ${error.message}` : error);
  process.exit(1);
});
