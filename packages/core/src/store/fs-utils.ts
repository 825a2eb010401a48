import { link, readFile, unlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';

/** Whether `error` is a Node system error with the given `code` (`ENOENT`, `EEXIST`, …). */
export function hasCode(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

/** Removes `path`; returns false when it was already gone. */
export async function unlinkIfExists(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (error) {
    if (hasCode(error, 'ENOENT')) return false;
    throw error;
  }
}

/** The text of `path`, or undefined when it does not exist. */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (hasCode(error, 'ENOENT')) return undefined;
    throw error;
  }
}

/**
 * Creates `path` holding `text` (mode 0600) only if it does not exist; false
 * when it does. The text is written to a private file first and then
 * hard-linked into place, so `path` never exists empty or half-written.
 *
 * The private file, `PATH.PID.RANDOM.tmp`, carries the creator's PID so that
 * one left by a process killed in between can be told from one in use; see
 * {@link exclusiveTempOwner}.
 */
export async function createExclusive(path: string, text: string): Promise<boolean> {
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    // Inside the try: a write that fails (a full disk) has created the file.
    await writeFile(temp, text, { mode: 0o600, flag: 'wx' });
    await link(temp, path);
    return true;
  } catch (error) {
    if (hasCode(error, 'EEXIST')) return false;
    throw error;
  } finally {
    await unlinkIfExists(temp);
  }
}

/**
 * The PID of the process that made `name`, when `name` is a private file of
 * {@link createExclusive} for the file named `base` in the same directory;
 * otherwise undefined.
 */
export function exclusiveTempOwner(name: string, base: string): number | undefined {
  if (!name.startsWith(`${base}.`)) return undefined;
  const match = /^(\d+)\.[0-9a-f]+\.tmp$/.exec(name.slice(base.length + 1));
  return match ? Number(match[1]) : undefined;
}
