import { cpSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createNetMode, type DriverRegistration } from '../src/create.js';
import { ErrorCode, isNetModeError } from '../src/errors.js';
import { MemoryStateStore } from '../src/store/memory-store.js';
import { RecordingRunner } from '../src/testing/recording-runner.js';

// A dependency tree with a second tsyringe: a driver package that installed
// its own copy (as npm does for a package whose tsyringe range the
// application's copy does not satisfy, or under --legacy-peer-deps) and
// decorates its class with it, instead of taking `injectable` from core.
const tree = mkdtempSync(join(tmpdir(), 'netmode-two-tsyringe-'));
afterAll(() => rmSync(tree, { recursive: true, force: true }));

function installDriverWithOwnTsyringe(): string {
  const coreTsyringe = dirname(createRequire(import.meta.url).resolve('tsyringe/package.json'));
  const driver = join(tree, 'node_modules', 'own-tsyringe-driver');
  cpSync(realpathSync(coreTsyringe), join(driver, 'node_modules', 'tsyringe'), { recursive: true, dereference: true });
  writeFileSync(join(driver, 'package.json'), JSON.stringify({ name: 'own-tsyringe-driver', type: 'module', main: 'index.js' }));
  writeFileSync(
    join(driver, 'index.js'),
    [
      "import { inject, injectable } from 'tsyringe';",
      'export class OwnTsyringeDriver {',
      "  mode = 'own';",
      '  constructor(runner) { this.runner = runner; }',
      '  validate() {}',
      '  async attach() { throw new Error("never reached"); }',
      '  async detach() {}',
      '}',
      // What `@injectable()` and `@inject(COMMAND_RUNNER)` compile to.
      "inject(Symbol.for('netmode.CommandRunner'))(OwnTsyringeDriver, undefined, 0);",
      'injectable()(OwnTsyringeDriver);',
      "export const registerOwnTsyringeDriver = (container) => container.register(Symbol.for('netmode.NetworkDriver'), { useClass: OwnTsyringeDriver });",
      '',
    ].join('\n'),
  );
  return join(driver, 'index.js');
}

describe('a second copy of tsyringe', () => {
  it('makes createNetMode fail with ERR_DUPLICATE_TSYRINGE, naming both copies', async () => {
    const entry = installDriverWithOwnTsyringe();
    const { registerOwnTsyringeDriver } = (await import(pathToFileURL(entry).href)) as { registerOwnTsyringeDriver: DriverRegistration };
    let caught: unknown;
    try {
      createNetMode({ drivers: [registerOwnTsyringeDriver], runner: new RecordingRunner(), store: new MemoryStateStore() });
    } catch (error) {
      caught = error;
    }
    expect(isNetModeError(caught, ErrorCode.DUPLICATE_TSYRINGE), String(caught)).toBe(true);
    if (!isNetModeError(caught)) return;
    expect(caught.message).toMatch(/tsyringe is loaded \d+ times/);
    expect(caught.context['copies']).toContain(join(entry, '..', 'node_modules', 'tsyringe'));
    expect(String((caught.cause as Error).message)).toMatch(/TypeInfo not known for "?OwnTsyringeDriver/);
  });
});
