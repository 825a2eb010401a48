import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const GOLDEN_DIR = fileURLToPath(new URL('./golden/', import.meta.url));

/**
 * Compares `text` with `golden/NAME.nft`. With `UPDATE_GOLDEN=1` it rewrites
 * the file instead, so a deliberate change is one run plus a reviewed diff.
 */
export function expectGolden(name: string, text: string): void {
  const path = `${GOLDEN_DIR}${name}.nft`;
  const body = text.endsWith('\n') ? text : `${text}\n`;
  if (process.env['UPDATE_GOLDEN'] === '1') {
    writeFileSync(path, body);
    return;
  }
  if (!existsSync(path)) throw new Error(`no golden file ${path}: run with UPDATE_GOLDEN=1 and review it`);
  expect(body, `golden/${name}.nft`).toBe(readFileSync(path, 'utf8'));
}

/** The text of a file next to the golden files (a recorded nft listing, for instance). */
export function readFixture(name: string): string {
  return readFileSync(fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url)), 'utf8');
}
