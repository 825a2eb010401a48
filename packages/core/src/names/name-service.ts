import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import Type from 'typebox';
import { ErrorCode, NetModeError, errorMessage } from '../errors.js';
import type { NetModeEmitter } from '../events.js';
import { resolveToolPath } from '../exec/tool-path.js';
import type { NameFileContents, SandboxFiles } from '../model/names.js';
import { netnsPath, type NetnsRef } from '../model/netns-ref.js';
import { isProcessAlive, processStartTime } from '../store/process-identity.js';
import { checkRecord, type RecordKind } from '../store/record-schema.js';
import type { StateStore } from '../store/state-store.js';
import {
  COMPANION_KEY,
  MAX_SOCKET_PATH,
  companionLogPath,
  controlRequest,
  controlSocketPath,
  type ControlReply,
  type ControlRequest,
} from './companion-control.js';
import {
  SYSTEMD_RESOLVED_UPSTREAM,
  isSystemdStub,
  parseResolvConf,
  renderNameFiles,
  type NameFileInputs,
  type ResolvConf,
} from './name-files.js';

/** Settings of an instance's name service, from `createNetMode()` options. */
export interface NameServiceSettings {
  /** The state directory: sandbox files and the companion's socket live there. Undefined: neither (a custom store). */
  readonly stateDir: string | undefined;
  /** The namespace playing the host: where the companion runs. */
  readonly hostNetns: NetnsRef;
  /** The host's `resolv.conf`. */
  readonly hostResolvConf: string;
  /** The host's `hosts`, for `host` mode. */
  readonly hostHosts: string;
  /** The port the embedded DNS server listens on. */
  readonly dnsPort: number;
  /** How long the server waits for one upstream resolver, in milliseconds. */
  readonly upstreamTimeoutMs: number;
}

/** A sandbox as the name files see it: {@link NameFileInputs} less what the service reads from the host. */
export type SandboxNames = Omit<NameFileInputs, 'hostResolvConf' | 'hostHosts' | 'hostHostname'>;

/** The companion's state record: which process it is. */
const CompanionRecordSchema = Type.Object({
  pid: Type.Integer({ minimum: 1 }),
  start: Type.String(),
  startedAt: Type.String(),
});

const COMPANION_RECORD: RecordKind<typeof CompanionRecordSchema> = { what: 'companion record', schema: CompanionRecordSchema };

// How long a control request may take: a reload reads every record once.
const CONTROL_TIMEOUT_MS = 5_000;
// How long a new companion has to open its control socket.
const START_TIMEOUT_MS = 10_000;

/**
 * The names of every sandbox: its `hostname`, `hosts` and `resolv.conf`
 * files under the state directory, and the companion process whose
 * embedded DNS server answers on networks that have one. The manager calls
 * it after each change of a sandbox's endpoints.
 */
export class NameService {
  readonly #settings: NameServiceSettings;
  readonly #events: NetModeEmitter;
  readonly #store: StateStore;

  constructor(settings: NameServiceSettings, store: StateStore, events: NetModeEmitter) {
    this.#settings = settings;
    this.#store = store;
    this.#events = events;
  }

  /** Whether this instance writes files and runs the server (it keeps a state directory). */
  get enabled(): boolean {
    return this.#settings.stateDir !== undefined;
  }

  /** Where the files of `containerId`'s sandbox are (or will be); undefined without a state directory. */
  filesOf(containerId: string, mode: SandboxNames['mode']): SandboxFiles | undefined {
    const stateDir = this.#settings.stateDir;
    if (stateDir === undefined) return undefined;
    const directory = join(stateDir, 'sandboxes', containerId);
    return {
      directory,
      hostname: join(directory, 'hostname'),
      hosts: join(directory, 'hosts'),
      ...(mode === 'none' ? {} : { resolvConf: join(directory, 'resolv.conf') }),
    };
  }

  /** The text of a sandbox's files, read from the host's files as they are now. */
  contents(sandbox: SandboxNames): NameFileContents {
    return renderNameFiles({
      ...sandbox,
      hostResolvConf: readHostResolvConf(this.#settings.hostResolvConf),
      hostHosts: readOr(this.#settings.hostHosts, '127.0.0.1\tlocalhost\n'),
      hostHostname: osHostname(),
    });
  }

  /**
   * Writes a sandbox's files: a new file atomically, an existing one in
   * place (same inode, so a bind mount of it sees the new text).
   *
   * @throws ERR_STATE_DIR_UNUSABLE when the directory cannot be written.
   */
  async write(sandbox: SandboxNames): Promise<SandboxFiles | undefined> {
    const files = this.filesOf(sandbox.containerId, sandbox.mode);
    if (!files) return undefined;
    const text = this.contents(sandbox);
    try {
      await mkdir(files.directory, { recursive: true, mode: 0o755 });
      await writeInPlace(files.hostname, text.hostname);
      await writeInPlace(files.hosts, text.hosts);
      if (files.resolvConf !== undefined && text.resolvConf !== undefined) await writeInPlace(files.resolvConf, text.resolvConf);
    } catch (cause) {
      throw new NetModeError(
        ErrorCode.STATE_DIR_UNUSABLE,
        `cannot write the name files of ${sandbox.containerId} in ${files.directory}: ${errorMessage(cause)}`,
        {
          context: { containerId: sandbox.containerId, path: files.directory },
          cause,
        },
      );
    }
    return files;
  }

  /** The containers whose sandboxes have a files directory now. */
  async sandboxesWithFiles(): Promise<string[]> {
    const stateDir = this.#settings.stateDir;
    if (stateDir === undefined) return [];
    try {
      return (await readdir(join(stateDir, 'sandboxes'), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch {
      return [];
    }
  }

  /** Removes a sandbox's files (idempotent). */
  async remove(containerId: string): Promise<void> {
    const files = this.filesOf(containerId, undefined);
    if (files) await rm(files.directory, { recursive: true, force: true });
  }

  /**
   * Tells the companion that records changed and waits until its server
   * answers from them. When none runs and `needed` (a network with the
   * server has an attached endpoint), starts one first. Problems (a
   * listener that could not open, a companion that did not start) are
   * `warning` events (code `NAME_SERVER`): the containers' network works
   * without it, and `reconcile()` tries again. With `containerId`, only
   * that container's records changed (see {@link ControlRequest.containerId}).
   *
   * @returns the companion's reply, or undefined when none runs now.
   */
  async sync(needed: boolean, containerId?: string): Promise<ControlReply | undefined> {
    const stateDir = this.#settings.stateDir;
    if (stateDir === undefined) return undefined;
    const socket = controlSocketPath(stateDir);
    let reply = await controlRequest(socket, { op: 'reload', ...(containerId === undefined ? {} : { containerId }) }, CONTROL_TIMEOUT_MS);
    if ((!reply || !reply.ok) && needed) reply = await this.#start(stateDir, socket);
    if (reply && reply.failed.length > 0) {
      for (const failure of reply.failed) {
        this.#warn(`the embedded DNS server cannot listen on ${failure.address}:${this.#settings.dnsPort}: ${failure.error}`);
      }
    }
    return reply?.ok ? reply : undefined;
  }

  /**
   * Makes sure the companion runs (started when none answers), without
   * making it read the records again. Resolves to whether it runs.
   */
  async ensureCompanion(): Promise<boolean> {
    const stateDir = this.#settings.stateDir;
    if (stateDir === undefined) return false;
    const socket = controlSocketPath(stateDir);
    const reply = await controlRequest(socket, { op: 'status' }, CONTROL_TIMEOUT_MS);
    if (reply?.ok) return true;
    return (await this.#start(stateDir, socket))?.ok === true;
  }

  /**
   * Sends `request` to the running companion; undefined when none answers
   * or it is on its way out. Starts nothing.
   */
  async ask(request: ControlRequest): Promise<ControlReply | undefined> {
    const stateDir = this.#settings.stateDir;
    if (stateDir === undefined) return undefined;
    const reply = await controlRequest(controlSocketPath(stateDir), request, CONTROL_TIMEOUT_MS);
    return reply?.ok ? reply : undefined;
  }

  /** The running companion's PID and listeners, or undefined when none runs. */
  async status(): Promise<ControlReply | undefined> {
    const stateDir = this.#settings.stateDir;
    if (stateDir === undefined) return undefined;
    const reply = await controlRequest(controlSocketPath(stateDir), { op: 'status' }, CONTROL_TIMEOUT_MS);
    return reply?.ok ? reply : undefined;
  }

  /**
   * Stops the companion of this state directory, if one runs: asked over
   * its socket, then (if it does not go within 2 s) ended by the PID its
   * record holds. Resolves when it is gone.
   */
  async stop(): Promise<boolean> {
    const stateDir = this.#settings.stateDir;
    if (stateDir === undefined) return false;
    const record = await this.#record();
    const reply = await controlRequest(controlSocketPath(stateDir), { op: 'stop' }, CONTROL_TIMEOUT_MS);
    const identity = record ?? (reply ? { pid: reply.pid, start: processStartTime(reply.pid) ?? '' } : undefined);
    if (!identity) return false;
    for (let waited = 0; waited < 2_000 && isProcessAlive(identity); waited += 20) await sleep(20);
    if (isProcessAlive(identity)) {
      try {
        process.kill(identity.pid, 'SIGKILL');
      } catch {
        // Gone meanwhile.
      }
      for (let waited = 0; waited < 2_000 && isProcessAlive(identity); waited += 20) await sleep(20);
    }
    await this.#store.transaction(async (tx) => {
      const current = await tx.get<unknown>(COMPANION_KEY);
      if (current !== undefined && (current as { pid?: unknown }).pid === identity.pid) tx.delete(COMPANION_KEY);
    });
    return true;
  }

  /**
   * Starts a companion, unless another process started one that is still
   * alive (coming up, or going): under the state lock, so two processes
   * never start two. Waits until it answers; if the one it waits for ends
   * instead (it was on its way out), starts another.
   */
  async #start(stateDir: string, socket: string): Promise<ControlReply | undefined> {
    if (socket.length > MAX_SOCKET_PATH) {
      this.#warn(`the state directory's path is too long for the companion's socket (${socket.length} > ${MAX_SOCKET_PATH} characters)`);
      return undefined;
    }
    for (let round = 0; round < 3; round += 1) {
      let identity: { pid: number; start: string };
      try {
        identity = await this.#store.transaction(async (tx) => {
          const value = await tx.get<unknown>(COMPANION_KEY);
          const record = value === undefined ? undefined : checkRecord(COMPANION_RECORD, COMPANION_KEY, value, tx);
          if (record && isProcessAlive(record)) return record;
          const pid = await this.#spawn(stateDir);
          const started = { pid, start: processStartTime(pid) ?? '0', startedAt: new Date().toISOString() };
          tx.put(COMPANION_KEY, started);
          return started;
        });
      } catch (cause) {
        this.#warn(`cannot start the companion process: ${errorMessage(cause)}`);
        return undefined;
      }
      for (let waited = 0; waited < START_TIMEOUT_MS; waited += 10) {
        const reply = await controlRequest(socket, { op: 'reload' }, CONTROL_TIMEOUT_MS);
        if (reply?.ok) return reply;
        if (!isProcessAlive(identity)) break;
        await sleep(10);
      }
      if (isProcessAlive(identity)) break;
    }
    this.#warn(`the companion process did not answer within ${START_TIMEOUT_MS / 1000} s; see ${companionLogPath(stateDir)}`);
    return undefined;
  }

  /** Starts the companion in the host namespace, detached: it outlives this process. */
  async #spawn(stateDir: string): Promise<number> {
    const settings = this.#settings;
    const node = [
      process.execPath,
      companionScript(),
      '--state',
      stateDir,
      '--resolv-conf',
      settings.hostResolvConf,
      '--port',
      String(settings.dnsPort),
      '--upstream-timeout',
      String(settings.upstreamTimeoutMs),
    ];
    const argv =
      settings.hostNetns.kind === 'host' ? node : [resolveToolPath('nsenter'), `--net=${netnsPath(settings.hostNetns)}`, '--', ...node];
    await mkdir(stateDir, { recursive: true });
    const log = await open(companionLogPath(stateDir), 'a', 0o600);
    try {
      return await new Promise<number>((resolve, reject) => {
        const child = spawn(argv[0] as string, argv.slice(1), { detached: true, stdio: ['ignore', log.fd, log.fd] });
        child.once('error', reject);
        child.once('spawn', () => {
          child.unref();
          resolve(child.pid as number);
        });
      });
    } finally {
      await log.close();
    }
  }

  async #record(): Promise<{ pid: number; start: string } | undefined> {
    const value = await this.#store.get<unknown>(COMPANION_KEY);
    return value === undefined ? undefined : checkRecord(COMPANION_RECORD, COMPANION_KEY, value, this.#store);
  }

  #warn(message: string): void {
    this.#events.emit('warning', { code: 'NAME_SERVER', message });
  }
}

/**
 * The host's resolvers as a container may use them: `path` parsed, or
 * systemd-resolved's upstream file when `path` is its stub (127.0.0.53,
 * which only the host itself reaches). A missing file reads as empty.
 */
export function readHostResolvConf(path: string): ResolvConf {
  const conf = parseResolvConf(readOr(path, ''));
  if (isSystemdStub(conf) && existsSync(SYSTEMD_RESOLVED_UPSTREAM)) return parseResolvConf(readOr(SYSTEMD_RESOLVED_UPSTREAM, ''));
  return conf;
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

/** Writes `text` to `path`: in place when it exists and differs, atomically (0644) when it is new. */
async function writeInPlace(path: string, text: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'r+');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    // A name of its own: another process may be writing the same file at this moment.
    const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.new`;
    const created = await open(temporary, 'w', 0o644);
    try {
      await created.writeFile(text);
    } finally {
      await created.close();
    }
    // The umask may have taken bits away; the container's processes, whoever they run as, read it.
    await chmod(temporary, 0o644);
    await rename(temporary, path);
    return;
  }
  try {
    if ((await readFile(handle, 'utf8')) === text) return;
    await handle.truncate(0);
    await handle.write(text, 0);
  } finally {
    await handle.close();
  }
}

/**
 * The companion's script: `companion/main.js` of the built package; when
 * this module runs from the sources (the project's own tests), the built one.
 */
function companionScript(): string {
  const beside = fileURLToPath(new URL('../companion/main.js', import.meta.url));
  if (existsSync(beside)) return beside;
  const built = beside.replace(/\/src\/companion\/main\.js$/, '/dist/companion/main.js');
  if (existsSync(built)) return built;
  throw new NetModeError(ErrorCode.MISSING_TOOL, `the companion ${beside} is missing: build @netmode/core (pnpm build)`, {
    context: { path: beside },
  });
}
