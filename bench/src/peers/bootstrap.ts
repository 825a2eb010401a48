import { access, constants } from 'node:fs/promises';
import { errorText, runProcess } from '../proc.js';

/** Whether a peer can run, and if not, why. */
export interface PeerAvailability {
  readonly available: boolean;
  readonly detail: string;
}

const APT_ENV: NodeJS.ProcessEnv = {
  PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
  LC_ALL: 'C',
  DEBIAN_FRONTEND: 'noninteractive',
};

async function executable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

let updated = false;

/**
 * Makes sure a peer's binary is there, installing its Debian package with
 * apt-get when it is not (as root; `apt-get update` once when the first
 * attempt fails). Never throws: a peer that cannot be had is skipped, and the
 * report says why.
 */
export async function ensurePeer(binary: string, debianPackage: string, log: (line: string) => void): Promise<PeerAvailability> {
  if (await executable(binary)) return { available: true, detail: `${binary} present` };
  if (process.getuid?.() !== 0) return { available: false, detail: `${binary} is missing and installing ${debianPackage} needs root` };
  try {
    log(`installing ${debianPackage} (${binary} is missing)`);
    const install = () => runProcess(['/usr/bin/apt-get', 'install', '-y', '--no-install-recommends', debianPackage], { env: APT_ENV });
    let result = await install();
    if (result.code !== 0 && !updated) {
      updated = true;
      await runProcess(['/usr/bin/apt-get', 'update'], { env: APT_ENV });
      result = await install();
    }
    if (result.code !== 0) {
      return {
        available: false,
        detail: `apt-get install ${debianPackage} failed: ${result.stderr.trim().split('\n').slice(-1)[0] ?? ''}`,
      };
    }
  } catch (error) {
    return { available: false, detail: `apt-get install ${debianPackage} failed: ${errorText(error)}` };
  }
  return (await executable(binary))
    ? { available: true, detail: `${binary} installed from ${debianPackage}` }
    : { available: false, detail: `${debianPackage} installed but ${binary} is still missing` };
}
