import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import * as path from 'node:path';
import {
  ContainerNotFoundError,
  ContainerNotRunningError,
  ImageNotFoundError,
  InvalidArgumentError,
  RegistryUnreachableError,
  RuntimeCommandError,
  RuntimeUnavailableError,
} from '@mcp/common';
import {
  ContainerDetails,
  type ExecResult as ContainerExecResult,
  ContainerEventStream,
  ContainerRuntime,
  ContainerSummary,
  type ExecSession,
  type ExecSessionOptions,
  LogChunk,
  LocalImage,
  LogOptions,
  RunOptions,
  SecretInfo,
} from './container-runtime';
import { mergeOutput, writeWithBackpressure } from './exec-streams';
import { ndjsonEventStream, parsePodmanCliEvent, PodmanCliEventEntry } from './container-events';
import { classifyPodmanFailure, removeRetryingRestartRace, runtimeUnavailable, trimStderr } from './podman-errors';
import { labelsWithSecretEnv, mapInspectEntry, mapPsEntry, PodmanInspectEntry, PodmanPsEntry } from './podman-json';
import { PodmanSecretInspect, readSecretValue } from './secret-value';

export interface PodmanRuntimeOptions {
  /** The podman binary; default `podman` from PATH. */
  podmanPath?: string;
  /**
   * Environment for podman (so XDG_RUNTIME_DIR, CONTAINERS_CONF apply): the agent passes
   * `AgentConfig.env`, tests their own. Required: only config loading reads the process environment.
   */
  env: NodeJS.ProcessEnv;
  /** Stop timeout when a call gives none; default 10 s. */
  defaultStopTimeoutSeconds?: number;
  /**
   * How long any podman call other than a pull may take before it is killed and the runtime
   * reported unavailable (a hung podman must not hang the agent); default 2 min, plus the stop
   * timeout for stop/restart/remove.
   */
  commandTimeoutMs?: number;
  /** The same for pulls, which move whole images; default 30 min. */
  pullTimeoutMs?: number;
}

interface ExecResult {
  stdout: string;
  stderr: string;
}

interface ExecFailure {
  exitCode: number | null;
  stderr: string;
  timedOut: boolean;
}

/** Listings of many containers are large; podman's output is trusted, not a user's file. */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
/** Chunks queued before podman logs' pipes are paused (backpressure for slow consumers). */
const LOG_QUEUE_HIGH_WATER = 64;
/** Podman's words for a name clash (not to be confused with "address already in use"). */
const NAME_IN_USE = /container name "[^"]*" is already in use|that name is already in use/i;
const DEFAULT_COMMAND_TIMEOUT_MS = 2 * 60_000;
const DEFAULT_PULL_TIMEOUT_MS = 30 * 60_000;
/** The variable `podman secret create --env` reads the value from. */
const SECRET_ENV = 'MCP_SECRET_VALUE';

/**
 * The ContainerRuntime adapter for the podman CLI. Every call is one `podman` process with an
 * argv array (never a shell); positional arguments follow `--` so a name or image starting
 * with `-` can never become an option. `run` never pulls (`--pull=never`): pulling, with
 * credentials, is the caller's explicit step. Podman keeps `localhost/` images (built or
 * imported here) locally only; `pull` of one that exists is therefore a no-op.
 */
export class PodmanRuntime extends ContainerRuntime {
  private readonly podmanPath: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly defaultStopTimeoutSeconds: number;
  private readonly commandTimeoutMs: number;
  private readonly pullTimeoutMs: number;

  constructor(options: PodmanRuntimeOptions) {
    super();
    this.podmanPath = options.podmanPath ?? 'podman';
    this.env = options.env;
    this.defaultStopTimeoutSeconds = options.defaultStopTimeoutSeconds ?? 10;
    this.commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.pullTimeoutMs = options.pullTimeoutMs ?? DEFAULT_PULL_TIMEOUT_MS;
  }

  async pull(options: { image: string; authFile?: string; tlsVerify?: boolean }): Promise<void> {
    const image = requirePositional('image', options.image);
    // podman would try https://localhost/ for these and fail, though the image is right here.
    if (image.startsWith('localhost/') && (await this.imageExists({ image }))) return;
    const args = ['pull', '--quiet'];
    if (options.authFile) args.push('--authfile', options.authFile);
    if (options.tlsVerify === false) args.push('--tls-verify=false');
    args.push('--', image);
    try {
      await this.runPodman(args, { target: image, timeoutMs: this.pullTimeoutMs });
    } catch (error) {
      if (image.startsWith('localhost/') && error instanceof RegistryUnreachableError) {
        throw new ImageNotFoundError(`${error.message} (localhost/ images are local to this node)`, error.details);
      }
      throw error;
    }
  }

  async imageExists(options: { image: string }): Promise<boolean> {
    const args = ['image', 'exists', '--', requirePositional('image', options.image)];
    return this.exists(args, options.image);
  }

  async run(options: RunOptions): Promise<string> {
    const name = requirePositional('name', options.name);
    const args = ['run', '-d', '--pull=never', '--name', name];
    if (options.network) args.push('--network', options.network);
    if (options.user) args.push('--user', options.user);
    if (options.restart) args.push('--restart', options.restart);
    if (options.memory) args.push('--memory', options.memory);
    if (options.cpus !== undefined) args.push('--cpus', String(options.cpus));
    if (options.stopSignal) args.push('--stop-signal', options.stopSignal);
    if (options.stopTimeoutSeconds !== undefined) args.push('--stop-timeout', String(this.stopSeconds(options.stopTimeoutSeconds)));
    for (const secret of options.secrets ?? []) args.push('--secret', secretFlag(secret));
    for (const port of options.ports) args.push('-p', port);
    for (const volume of options.volumes) args.push('-v', volume);
    for (const env of options.env) args.push('-e', env);
    for (const [key, value] of Object.entries(labelsWithSecretEnv(options))) args.push('--label', `${key}=${value}`);
    args.push('--', requirePositional('image', options.image), ...options.cmd);
    try {
      const { stdout } = await this.runPodman(args, { target: name });
      return stdout.trim();
    } catch (error) {
      // A failed start (port in use, bad mount) leaves a created container behind that
      // would block the next attempt; a name clash means the container is someone else's.
      if (error instanceof RuntimeCommandError && !NAME_IN_USE.test(error.details.stderr)) {
        await this.remove({ name, timeoutSeconds: 0 }).catch(() => undefined);
      }
      throw error;
    }
  }

  async stop(options: { name: string; timeoutSeconds?: number }): Promise<void> {
    const name = requirePositional('name', options.name);
    const seconds = this.stopSeconds(options.timeoutSeconds);
    await this.runPodman(['stop', '-t', String(seconds), '--', name], {
      target: name,
      container: name,
      timeoutMs: this.commandTimeoutMs + seconds * 1000,
    });
  }

  async start(options: { name: string }): Promise<void> {
    const name = requirePositional('name', options.name);
    await this.runPodman(['start', '--', name], { target: name, container: name });
  }

  async restart(options: { name: string; timeoutSeconds?: number }): Promise<void> {
    const name = requirePositional('name', options.name);
    const seconds = this.stopSeconds(options.timeoutSeconds);
    await this.runPodman(['restart', '-t', String(seconds), '--', name], {
      target: name,
      container: name,
      timeoutMs: this.commandTimeoutMs + seconds * 1000,
    });
  }

  async remove(options: { name: string; timeoutSeconds?: number }): Promise<void> {
    const name = requirePositional('name', options.name);
    const seconds = this.stopSeconds(options.timeoutSeconds);
    const args = ['rm', '-f', '-t', String(seconds), '--', name];
    // `rm -f` of a missing container succeeds, which is the contract here.
    await removeRetryingRestartRace(async () => {
      await this.runPodman(args, { target: name, timeoutMs: this.commandTimeoutMs + seconds * 1000 });
    });
  }

  async inspect(options: { name: string }): Promise<ContainerDetails | null> {
    const name = requirePositional('name', options.name);
    const args = ['inspect', '--type', 'container', '--format', 'json', '--', name];
    let stdout: string;
    try {
      ({ stdout } = await this.runPodman(args, { target: name, container: name }));
    } catch (error) {
      if (error instanceof ContainerNotFoundError) return null;
      throw error;
    }
    const entries = parseJson<PodmanInspectEntry[] | null>(stdout, args);
    return entries?.length ? mapInspectEntry(entries[0]) : null;
  }

  async execIn(options: { name: string; cmd: string[]; timeoutMs: number }): Promise<ContainerExecResult> {
    const name = requirePositional('name', options.name);
    if (options.cmd.length === 0) throw new InvalidArgumentError('exec needs a command');
    const args = ['exec', '--', name, ...options.cmd];
    try {
      const { stdout, stderr } = await this.execRaw(args, options.timeoutMs);
      return { exitCode: 0, output: tail(stdout + stderr) };
    } catch (error) {
      if (isExecFailure(error) && error.timedOut) return { exitCode: 124, output: `timed out after ${options.timeoutMs} ms` };
      // podman exec answers 125 for its own failures (no such container, not running) and the command's status otherwise.
      if (isExecFailure(error) && error.exitCode !== null && error.exitCode !== 125) {
        return { exitCode: error.exitCode, output: tail(error.stderr) };
      }
      throw this.toDomainError(error, { args, target: name, container: name, timeoutMs: options.timeoutMs });
    }
  }

  /**
   * `podman exec [-i] [-t] [--user U] [--workdir D] -- NAME CMD...` as one child process
   * whose pipes are the session's streams. The container is checked first (one inspect), so
   * "no such container" and "not running" are errors before anything runs. podman exec takes
   * a TTY's size from its own terminal, and the agent has none: this adapter cannot resize
   * (`resize` answers false); the REST adapter can. Closing kills the podman exec process.
   */
  async exec(options: ExecSessionOptions): Promise<ExecSession> {
    const name = requirePositional('name', options.name);
    if (options.cmd.length === 0) throw new InvalidArgumentError('exec needs a command');
    const stateArgs = ['container', 'inspect', '--format', '{{.State.Running}}', '--', name];
    const { stdout: running } = await this.runPodman(stateArgs, { target: name, container: name });
    if (running.trim() !== 'true') throw new ContainerNotRunningError(`container ${name} is not running`);
    const args = ['exec'];
    if (options.stdin) args.push('--interactive');
    if (options.tty) args.push('--tty');
    if (options.user) args.push('--user', options.user);
    if (options.workdir) args.push('--workdir', options.workdir);
    args.push('--', name, ...options.cmd);
    const child = spawn(this.podmanPath, args, { env: this.env, stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (error: NodeJS.ErrnoException) => reject(runtimeUnavailable(this.podmanPath, error)));
    });
    const closed = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    await spawned;
    const { stdout, stderr } = child;
    if (!stdout || !stderr) throw new RuntimeUnavailableError(`podman exec ${name}: no output pipes`);
    let stderrTail = '';
    stderr.on('data', (data: Buffer) => (stderrTail = (stderrTail + data.toString('utf8')).slice(-4096)));
    let closedByUs = false;
    return {
      output: mergeOutput([
        { stream: 'stdout', readable: stdout },
        { stream: 'stderr', readable: stderr },
      ]),
      write: async (data) => {
        if (child.stdin) await writeWithBackpressure(child.stdin, data);
      },
      endInput: () => child.stdin?.end(),
      resize: async () => false,
      exitCode: async () => {
        const code = await closed;
        if (code === null) {
          if (closedByUs) return 137;
          throw new RuntimeUnavailableError(`podman exec ${name}: podman was killed (${child.signalCode ?? 'signal'})`);
        }
        // 125 is podman's own failure (the container went away or stopped meanwhile).
        if (code === 125) throw classifyPodmanFailure({ args, exitCode: code, stderr: stderrTail, target: name, container: name });
        return code;
      },
      close: async () => {
        if (child.exitCode === null && child.signalCode === null) {
          closedByUs = true;
          child.kill('SIGKILL');
        }
        stdout.resume();
        stderr.resume();
        await closed;
      },
    };
  }

  async rename(options: { name: string; newName: string }): Promise<void> {
    const name = requirePositional('name', options.name);
    await this.runPodman(['rename', '--', name, requirePositional('new name', options.newName)], { target: name, container: name });
  }

  async imageDigest(options: { image: string }): Promise<string> {
    const image = requirePositional('image', options.image);
    const { stdout } = await this.runPodman(['image', 'inspect', '--format', '{{.Digest}}', '--', image], { target: image });
    return stdout.trim();
  }

  async removeImage(options: { image: string }): Promise<void> {
    const image = requirePositional('image', options.image);
    await this.runPodman(['rmi', '--', image], { target: image });
  }

  async localImages(): Promise<LocalImage[]> {
    const { stdout: ids } = await this.runPodman(['images', '--all', '--quiet', '--no-trunc'], { target: '--all' });
    const unique = [...new Set(ids.split('\n').map((id) => id.trim()).filter(Boolean))];
    if (unique.length === 0) return [];
    const args = ['image', 'inspect', '--format', '{{.Id}}{{range .RootFS.Layers}} {{.}}{{end}}', '--', ...unique];
    const { stdout } = await this.runPodman(args, { target: 'images' });
    return stdout
      .split('\n')
      .map((line) => line.trim().split(' '))
      .filter((fields) => fields[0])
      .map(([id, ...layers]) => ({ id: id.startsWith('sha256:') ? id : `sha256:${id}`, layers }));
  }

  /**
   * `podman pull oci:NAME` run in the layout's parent directory (it prints the ID; `podman load`
   * of a directory only prints a name). Podman names the image after the path it was given
   * (`localhost/NAME:latest`) and refuses upper case there, hence the relative path; that name
   * is removed again, so the image has none until `tagImage`.
   */
  async loadImage(options: { layoutDir: string }): Promise<string> {
    const dir = requirePositional('layout directory', options.layoutDir);
    const name = path.basename(dir);
    if (!path.isAbsolute(dir) || !/^[a-z0-9][a-z0-9_-]*$/.test(name)) {
      throw new InvalidArgumentError(`an OCI layout to load must be an absolute path whose last part is lower-case letters and digits, got ${dir}`);
    }
    const { stdout } = await this.runPodman(['pull', '--quiet', '--', `oci:${name}`], { target: dir, timeoutMs: this.pullTimeoutMs, cwd: path.dirname(dir) });
    const id = stdout.trim().split('\n').pop() ?? '';
    if (!/^[0-9a-f]{64}$/.test(id)) throw new RuntimeCommandError(`podman pull oci:${dir}: no image ID in its output`, { args: ['pull', `oci:${name}`], exitCode: 0, stderr: trimStderr(stdout) });
    const { stdout: tags } = await this.runPodman(['image', 'inspect', '--format', '{{range .RepoTags}}{{.}}\n{{end}}', '--', id], { target: id });
    for (const tag of tags.split('\n').filter((tag) => tag === `localhost/${name}:latest`)) {
      await this.runPodman(['untag', '--', id, tag], { target: id });
    }
    return `sha256:${id}`;
  }

  /**
   * `podman pull --tls-verify=false docker://127.0.0.1:<port>/…` (plain HTTP on loopback only:
   * the registry is the agent's own, see apps/agent/src/images/push-registry.ts), then the name
   * podman gave the image is removed again, so it has none until `tagImage`.
   */
  async loadImageFromRegistry(options: { reference: string; signal?: AbortSignal }): Promise<string> {
    const reference = requirePositional('reference', options.reference);
    if (!/^127\.0\.0\.1:[0-9]{1,5}\/[a-z0-9][a-z0-9/_.-]*:[a-z0-9_.-]+$/.test(reference)) {
      throw new InvalidArgumentError(`an image pushed in is pulled from the agent's own registry on 127.0.0.1 only, got ${reference}`);
    }
    const { stdout } = await this.runPodman(['pull', '--quiet', '--tls-verify=false', '--', `docker://${reference}`], { target: reference, timeoutMs: this.pullTimeoutMs, signal: options.signal });
    const id = stdout.trim().split('\n').pop() ?? '';
    if (!/^[0-9a-f]{64}$/.test(id)) throw new RuntimeCommandError(`podman pull ${reference}: no image ID in its output`, { args: ['pull', reference], exitCode: 0, stderr: trimStderr(stdout) });
    await this.runPodman(['untag', '--', id, reference], { target: id });
    return `sha256:${id}`;
  }

  async tagImage(options: { image: string; reference: string }): Promise<void> {
    const image = requirePositional('image', options.image);
    await this.runPodman(['tag', '--', image, requirePositional('reference', options.reference)], { target: image });
  }

  async list(): Promise<ContainerSummary[]> {
    const args = ['ps', '--all', '--format', 'json'];
    const { stdout } = await this.runPodman(args, { target: '--all' });
    return (parseJson<PodmanPsEntry[] | null>(stdout, args) ?? []).map(mapPsEntry);
  }

  async version(): Promise<string> {
    const args = ['version', '--format', 'json'];
    const { stdout } = await this.runPodman(args, { target: '' });
    const parsed = parseJson<{ Client?: { Version?: string }; Server?: { Version?: string } }>(stdout, args);
    const version = parsed.Client?.Version ?? parsed.Server?.Version;
    if (!version) throw new RuntimeCommandError('podman version: no version in output', commandDetails(args, 0, ''));
    return version;
  }

  async createSecret(options: { name: string; value: Buffer }): Promise<SecretInfo> {
    const name = requirePositional('secret name', options.name);
    // podman 4.3 has no `--replace`: remove first. The value never goes into argv: podman
    // reads `-` only from a FIFO (Node gives children socket pairs), so it travels in the
    // environment of this one podman process, readable only by this user.
    if (options.value.includes(0)) throw new InvalidArgumentError(`secret ${name}: the value must not contain NUL bytes`);
    await this.removeSecret({ name });
    const args = ['secret', 'create', '--env', '--', name, SECRET_ENV];
    const { stdout } = await this.runPodman(args, {
      target: name,
      env: { ...this.env, [SECRET_ENV]: options.value.toString('utf8') },
    });
    const id = stdout.trim();
    const created = (await this.inspectSecrets([id])).find((secret) => secret.id === id);
    if (!created) throw new RuntimeCommandError(`podman secret create ${name}: the new secret is not listed`, commandDetails(args, 0, ''));
    return created;
  }

  async listSecrets(): Promise<SecretInfo[]> {
    const args = ['secret', 'ls', '--quiet'];
    const { stdout } = await this.runPodman(args, { target: '' });
    const ids = stdout.split('\n').map((line) => line.trim()).filter((line) => line);
    return ids.length ? this.inspectSecrets(ids) : [];
  }

  async removeSecret(options: { name: string }): Promise<void> {
    const name = requirePositional('secret name', options.name);
    try {
      await this.runPodman(['secret', 'rm', '--', name], { target: name });
    } catch (error) {
      if (error instanceof RuntimeCommandError && /no such secret/i.test(error.details.stderr)) return;
      throw error;
    }
  }

  async pause(options: { name: string }): Promise<void> {
    const name = requirePositional('name', options.name);
    await this.runPodman(['pause', '--', name], { target: name, container: name });
  }

  async unpause(options: { name: string }): Promise<void> {
    const name = requirePositional('name', options.name);
    try {
      await this.runPodman(['unpause', '--', name], { target: name, container: name });
    } catch (error) {
      if (error instanceof ContainerNotFoundError) return;
      if (error instanceof RuntimeCommandError && /not paused|state improper/i.test(error.details.stderr)) return;
      throw error;
    }
  }

  async volumeMountpoint(options: { name: string }): Promise<string | null> {
    const name = requirePositional('volume name', options.name);
    try {
      const { stdout } = await this.runPodman(['volume', 'inspect', '--format', '{{.Mountpoint}}', '--', name], { target: name });
      return stdout.trim() || null;
    } catch (error) {
      if (error instanceof RuntimeCommandError && /no such volume/i.test(error.details.stderr)) return null;
      throw error;
    }
  }

  async readSecret(options: { name: string }): Promise<Buffer | null> {
    const name = requirePositional('secret name', options.name);
    const args = ['secret', 'inspect', '--', name];
    let stdout: string;
    try {
      ({ stdout } = await this.runPodman(args, { target: name }));
    } catch (error) {
      if (error instanceof RuntimeCommandError && /no such secret/i.test(error.details.stderr)) return null;
      throw error;
    }
    const [entry] = parseJson<PodmanSecretInspect[] | null>(stdout, args) ?? [];
    return entry ? readSecretValue(entry) : null;
  }

  private async inspectSecrets(ids: string[]): Promise<SecretInfo[]> {
    const args = ['secret', 'inspect', '--', ...ids];
    let stdout: string;
    try {
      ({ stdout } = await this.runPodman(args, { target: ids.join(' ') }));
    } catch (error) {
      // One removed between the listing and this call: list the rest one by one.
      if (ids.length > 1 && error instanceof RuntimeCommandError && /no such secret/i.test(error.details.stderr)) {
        const each = await Promise.all(ids.map((id) => this.inspectSecrets([id]).catch(() => [])));
        return each.flat();
      }
      throw error;
    }
    return (parseJson<PodmanSecretEntry[] | null>(stdout, args) ?? []).map(mapSecretEntry);
  }

  /**
   * Follows `podman events --format json --filter type=container` (argv, no shell). Resolves
   * once the process has started; `--since` the moment before the spawn makes podman replay
   * whatever happened while it was still starting, so nothing after this call is missed.
   * The stream ends when the process exits; a non-zero exit is RuntimeUnavailableError with
   * podman's last words.
   */
  async events(): Promise<ContainerEventStream> {
    const since = new Date().toISOString();
    const args = ['events', '--format', 'json', '--filter', 'type=container', '--since', since];
    const child = spawn(this.podmanPath, args, { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => (stderr = (stderr + text).slice(-2048)));
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (error: NodeJS.ErrnoException) => reject(runtimeUnavailable(this.podmanPath, error)));
    });
    child.on('error', () => undefined);
    return ndjsonEventStream<PodmanCliEventEntry>({
      source: child.stdout,
      parse: parsePodmanCliEvent,
      dispose: () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      },
      failure: () =>
        child.exitCode !== null && child.exitCode !== 0
          ? new RuntimeUnavailableError(`podman events exited ${child.exitCode}: ${trimStderr(stderr)}`)
          : undefined,
    });
  }

  /**
   * Streams `podman logs` as it produces output. Ends when podman ends (a stopped container
   * under `follow`), when the signal aborts, or when the consumer stops iterating; the podman
   * process is killed and reaped before the iterator finishes.
   */
  async *logs(options: LogOptions): AsyncGenerator<LogChunk> {
    const name = requirePositional('name', options.name);
    if (options.signal?.aborted) return;
    if (!(await this.exists(['container', 'exists', '--', name], name))) {
      throw new ContainerNotFoundError(name);
    }
    const args = ['logs'];
    if (options.follow) args.push('--follow');
    if (options.tail) args.push('--tail', String(options.tail));
    if (options.since) args.push('--since', options.since);
    if (options.timestamps) args.push('--timestamps');
    args.push('--', name);
    yield* this.streamLogs(args, name, options.signal);
  }

  private async *streamLogs(args: string[], name: string, signal: AbortSignal | undefined): AsyncGenerator<LogChunk> {
    const child = spawn(this.podmanPath, args, { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const queue: LogChunk[] = [];
    let stderrTail = '';
    let finished = false;
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    const notify = (): void => {
      const resume = wake;
      wake = undefined;
      resume?.();
    };
    const push = (stream: LogChunk['stream'], data: Buffer): void => {
      queue.push({ stream, data });
      if (stream === 'stderr') stderrTail = (stderrTail + data.toString('utf8')).slice(-2 * 2048);
      if (queue.length >= LOG_QUEUE_HIGH_WATER) {
        child.stdout.pause();
        child.stderr.pause();
      }
      notify();
    };
    child.stdout.on('data', (data: Buffer) => push('stdout', data));
    child.stderr.on('data', (data: Buffer) => push('stderr', data));
    const closed = once(child, 'close').catch(() => undefined);
    child.on('error', (error: NodeJS.ErrnoException) => {
      failure = runtimeUnavailable(this.podmanPath, error);
      finished = true;
      notify();
    });
    child.on('close', (code: number | null) => {
      if (!failure && code !== 0 && code !== null && !signal?.aborted) {
        failure = classifyPodmanFailure({ args, exitCode: code, stderr: stderrTail, target: name, container: name });
      }
      finished = true;
      notify();
    });
    const onAbort = (): void => {
      child.kill('SIGTERM');
      finished = true;
      notify();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        if (signal?.aborted) break;
        const chunk = queue.shift();
        if (chunk) {
          if (queue.length < LOG_QUEUE_HIGH_WATER / 2) {
            child.stdout.resume();
            child.stderr.resume();
          }
          yield chunk;
          continue;
        }
        if (finished || signal?.aborted) break;
        await new Promise<void>((resolve) => (wake = resolve));
      }
      if (failure && !signal?.aborted) throw failure;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        child.kill('SIGTERM');
      }
      // Paused pipes would hold 'close' back forever: drain them into the void.
      child.stdout.removeAllListeners('data').resume();
      child.stderr.removeAllListeners('data').resume();
      if (child.pid !== undefined) await closed;
    }
  }

  private stopSeconds(seconds: number | undefined): number {
    const value = seconds ?? this.defaultStopTimeoutSeconds;
    if (!Number.isInteger(value) || value < 0) {
      throw new InvalidArgumentError(`stop timeout must be a whole number of seconds, got ${value}`);
    }
    return value;
  }

  /** Runs a podman `exists` subcommand: exit 0 yes, 1 no, anything else an error. */
  private async exists(args: string[], target: string): Promise<boolean> {
    try {
      await this.execRaw(args, this.commandTimeoutMs);
      return true;
    } catch (error) {
      if (isExecFailure(error) && error.exitCode === 1) return false;
      throw this.toDomainError(error, { args, target, timeoutMs: this.commandTimeoutMs });
    }
  }

  private async runPodman(
    args: string[],
    context: { target: string; container?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string; signal?: AbortSignal },
  ): Promise<ExecResult> {
    const timeoutMs = context.timeoutMs ?? this.commandTimeoutMs;
    try {
      return await this.execRaw(args, timeoutMs, context.env, context.cwd, context.signal);
    } catch (error) {
      throw this.toDomainError(error, { ...context, args, timeoutMs });
    }
  }

  private toDomainError(
    error: unknown,
    context: { args: string[]; target: string; timeoutMs: number; container?: string },
  ): Error {
    const { args, target } = context;
    if (isExecFailure(error) && error.timedOut) {
      return new RuntimeUnavailableError(
        `podman ${args[0]} ${target}: no answer within ${context.timeoutMs} ms; the command was killed`,
      );
    }
    if (isExecFailure(error)) {
      return classifyPodmanFailure({
        args,
        exitCode: error.exitCode,
        stderr: error.stderr,
        target,
        container: context.container,
      });
    }
    // Duck-typed: errors from Node's core may come from another realm (jest's vm contexts).
    if (isErrnoException(error)) return runtimeUnavailable(this.podmanPath, error);
    return error instanceof Error ? error : new Error(String(error));
  }

  /** `signal`: the command is killed when it aborts (a push that failed no longer waits for podman's pull). */
  private execRaw(args: string[], timeoutMs: number, env: NodeJS.ProcessEnv = this.env, cwd?: string, signal?: AbortSignal): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      execFile(
        this.podmanPath,
        args,
        { env, cwd, maxBuffer: MAX_OUTPUT_BYTES, encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL', signal },
        (error, stdout, stderr) => {
          if (!error) {
            resolve({ stdout, stderr });
            return;
          }
          // A numeric code is podman's exit status; a string code (ENOENT, EACCES) means
          // podman never ran.
          const code: unknown = (error as NodeJS.ErrnoException).code;
          if (typeof code === 'number' || error.signal) {
            const failure: ExecFailure & Error = Object.assign(new Error(error.message), {
              exitCode: typeof code === 'number' ? code : null,
              stderr: String(stderr),
              timedOut: error.killed === true && error.signal === 'SIGKILL',
            });
            reject(failure);
            return;
          }
          reject(error);
        },
      );
    });
  }
}

const EXEC_OUTPUT_BYTES = 4096;

function tail(text: string): string {
  return text.length > EXEC_OUTPUT_BYTES ? text.slice(-EXEC_OUTPUT_BYTES) : text;
}

/** `podman secret inspect` JSON (podman 4). */
export interface PodmanSecretEntry {
  ID: string;
  CreatedAt?: string;
  Spec?: { Name?: string };
}

export function mapSecretEntry(entry: PodmanSecretEntry): SecretInfo {
  return { id: entry.ID, name: entry.Spec?.Name ?? '', createdAt: new Date(entry.CreatedAt ?? 0) };
}

/** `--secret` syntax: `NAME,type=mount,target=T` or `NAME,type=env,target=VAR`. */
export function secretFlag(secret: { source: string; type: 'file' | 'env'; target: string }): string {
  for (const part of [secret.source, secret.target]) {
    if (!part || /[,=]/.test(part)) throw new InvalidArgumentError(`invalid secret reference "${part}"`);
  }
  return `${secret.source},type=${secret.type === 'env' ? 'env' : 'mount'},target=${secret.target}`;
}

function isExecFailure(error: unknown): error is ExecFailure & Error {
  return typeof error === 'object' && error !== null && 'exitCode' in error && 'stderr' in error;
}

/** A system error such as ENOENT or EACCES: podman never ran. */
function isErrnoException(error: unknown): error is NodeJS.ErrnoException {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string';
}

function requirePositional(field: string, value: string): string {
  if (!value || value.startsWith('-')) {
    throw new InvalidArgumentError(`${field} must be non-empty and must not start with "-": "${value}"`);
  }
  return value;
}

function parseJson<T>(stdout: string, args: string[]): T {
  try {
    return JSON.parse(stdout) as T;
  } catch {
    throw new RuntimeCommandError(`podman ${args[0]}: unreadable JSON output`, commandDetails(args, 0, ''));
  }
}

function commandDetails(args: string[], exitCode: number | null, stderr: string) {
  return { args: [...args], exitCode, stderr: trimStderr(stderr) };
}
