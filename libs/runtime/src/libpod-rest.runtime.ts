import type { OnApplicationShutdown } from '@nestjs/common';
import { ContainerNotFoundError, ContainerNotRunningError, InvalidArgumentError, McpError, RuntimeCommandError, RuntimeUnavailableError } from '@mcp/common';
import {
  ContainerDetails,
  ContainerEventStream,
  ContainerRuntime,
  ContainerSummary,
  LocalImage,
  LogChunk,
  LogOptions,
  RunOptions,
  type ExecResult,
  type ExecSession,
  type ExecSessionOptions,
  type TerminalSize,
  SecretInfo,
} from './container-runtime';
import { LibpodEventEntry, ndjsonEventStream, parseLibpodEvent } from './container-events';
import { DEFAULT_LIBPOD_API_VERSION, LibpodClient, LibpodRequest, LibpodResponse } from './libpod-client';
import { createSpecFor, LibpodErrorBody, LibpodListEntry, mapLibpodListEntry } from './libpod-json';
import { LogDemuxer } from './log-demux';
import { batchedOutput, writeWithBackpressure } from './exec-streams';
import { classifyPodmanFailure, removeRetryingRestartRace } from './podman-errors';
import { mapInspectEntry, PodmanInspectEntry } from './podman-json';
import { mapSecretEntry, PodmanRuntime, PodmanSecretEntry } from './podman.runtime';
import { PodmanSecretInspect, readSecretValue } from './secret-value';

export interface LibpodRestRuntimeOptions {
  /** podman's API socket (`podman system service unix://PATH`). */
  socketPath: string;
  /** The API path prefix's version; default `v4.0.0` (podman 4). */
  apiVersion?: string;
  /** Stop timeout when a call gives none; default 10 s. */
  defaultStopTimeoutSeconds?: number;
  /** How long any call may wait for an answer before the runtime is reported unavailable; default 2 min (plus the stop timeout for stop/restart/remove). */
  requestTimeoutMs?: number;
  /**
   * Pulls go through the podman CLI (its auth file handling and error words are the CLI
   * adapter's), with these settings: binary, environment, pull timeout.
   */
  podmanPath?: string;
  /** Required: the agent passes `AgentConfig.env`, tests their own (no fallback to the process environment). */
  env: NodeJS.ProcessEnv;
  pullTimeoutMs?: number;
}

/** Podman's words for a name clash (not to be confused with "address already in use"). */
const NAME_IN_USE = /container name "[^"]*" is already in use|that name is already in use/i;
const DEFAULT_REQUEST_TIMEOUT_MS = 2 * 60_000;
const HTTP_NOT_MODIFIED = 304;
const HTTP_NOT_FOUND = 404;

/** Where a failed answer came from, for messages and classification (the CLI adapter's words). */
interface CallContext {
  /** The podman subcommand this call stands for: `run`, `stop`, ... */
  verb: string;
  target: string;
  /** Set when the call is about an existing container (a 404 then means ContainerNotFoundError). */
  container?: string;
}

/**
 * The ContainerRuntime adapter for podman's libpod REST API (podman 4, `/v4.0.0/libpod`) on a
 * Unix socket: same semantics and typed errors as PodmanRuntime, without a podman process per
 * call. `run` creates from a spec parsed like the CLI's flags and never pulls; a start that
 * fails removes the created container (unless the name was someone else's). `pull` runs the
 * podman CLI: it is rare, dominated by the transfer, and keeps one implementation of auth
 * files and registry error words. Error answers are classified by the same rules as podman's
 * stderr, so the same conditions give the same error classes.
 */
export class LibpodRestRuntime extends ContainerRuntime implements OnApplicationShutdown {
  private readonly client: LibpodClient;
  private readonly defaultStopTimeoutSeconds: number;
  private readonly requestTimeoutMs: number;
  private readonly cli: PodmanRuntime;
  private readonly hostEnv: NodeJS.ProcessEnv;

  constructor(options: LibpodRestRuntimeOptions) {
    super();
    this.client = new LibpodClient(options.socketPath, options.apiVersion ?? DEFAULT_LIBPOD_API_VERSION);
    this.defaultStopTimeoutSeconds = options.defaultStopTimeoutSeconds ?? 10;
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.hostEnv = options.env;
    this.cli = new PodmanRuntime({
      podmanPath: options.podmanPath,
      env: options.env,
      pullTimeoutMs: options.pullTimeoutMs,
      defaultStopTimeoutSeconds: this.defaultStopTimeoutSeconds,
    });
  }

  get socketPath(): string {
    return this.client.socketPath;
  }

  async pull(options: { image: string; authFile?: string; tlsVerify?: boolean }): Promise<void> {
    requirePositional('image', options.image);
    // localhost/ images that exist are local: answer that through the API, as the CLI adapter would.
    if (options.image.startsWith('localhost/') && (await this.imageExists({ image: options.image }))) return;
    await this.cli.pull(options);
  }

  async imageExists(options: { image: string }): Promise<boolean> {
    const image = requirePositional('image', options.image);
    const answer = await this.call(
      { method: 'GET', path: `/images/${encodeURIComponent(image)}/exists` },
      { verb: 'image exists', target: image },
      [HTTP_NOT_FOUND],
    );
    return answer.status !== HTTP_NOT_FOUND;
  }

  async run(options: RunOptions): Promise<string> {
    const name = requirePositional('name', options.name);
    requirePositional('image', options.image);
    const spec = createSpecFor(options, this.hostEnv);
    const context: CallContext = { verb: 'run', target: name };
    const created = await this.call({ method: 'POST', path: '/containers/create', body: spec }, context);
    const id = parseJson<{ Id?: string }>(created.body, context).Id;
    if (!id) throw new RuntimeCommandError(`podman run ${name}: no container id in the answer`, details(context, ''));
    try {
      await this.call(
        { method: 'POST', path: `/containers/${encodeURIComponent(id)}/start`, idempotent: true },
        context,
        [HTTP_NOT_MODIFIED],
      );
    } catch (error) {
      // A failed start (port in use, bad mount) leaves a created container behind that would
      // block the next attempt.
      if (!(error instanceof RuntimeCommandError && NAME_IN_USE.test(error.details.stderr))) {
        await this.remove({ name: id, timeoutSeconds: 0 }).catch(() => undefined);
      }
      throw error;
    }
    return id;
  }

  async stop(options: { name: string; timeoutSeconds?: number }): Promise<void> {
    const name = requirePositional('name', options.name);
    const seconds = this.stopSeconds(options.timeoutSeconds);
    await this.call(
      { method: 'POST', path: `/containers/${encodeURIComponent(name)}/stop`, query: { timeout: seconds }, idempotent: true },
      { verb: 'stop', target: name, container: name },
      [HTTP_NOT_MODIFIED],
      seconds,
    );
  }

  async start(options: { name: string }): Promise<void> {
    const name = requirePositional('name', options.name);
    await this.call(
      { method: 'POST', path: `/containers/${encodeURIComponent(name)}/start`, idempotent: true },
      { verb: 'start', target: name, container: name },
      [HTTP_NOT_MODIFIED],
    );
  }

  async restart(options: { name: string; timeoutSeconds?: number }): Promise<void> {
    const name = requirePositional('name', options.name);
    const seconds = this.stopSeconds(options.timeoutSeconds);
    await this.call(
      { method: 'POST', path: `/containers/${encodeURIComponent(name)}/restart`, query: { t: seconds } },
      { verb: 'restart', target: name, container: name },
      [],
      seconds,
    );
  }

  async remove(options: { name: string; timeoutSeconds?: number }): Promise<void> {
    const name = requirePositional('name', options.name);
    const seconds = this.stopSeconds(options.timeoutSeconds);
    const context: CallContext = { verb: 'rm', target: name };
    // A missing container is fine (as `rm -f`).
    await removeRetryingRestartRace(async () => {
      const answer = await this.call(
        { method: 'DELETE', path: `/containers/${encodeURIComponent(name)}`, query: { force: true, timeout: seconds } },
        context,
        [HTTP_NOT_FOUND],
        seconds,
      );
      if (answer.status !== HTTP_NOT_FOUND) throwReportErrors(answer, context);
    });
  }

  async inspect(options: { name: string }): Promise<ContainerDetails | null> {
    const name = requirePositional('name', options.name);
    const entry = await this.inspectEntry(name);
    return entry ? mapInspectEntry(entry) : null;
  }

  /** One request: `GET /libpod/containers/json?all=true`. */
  async list(): Promise<ContainerSummary[]> {
    const context: CallContext = { verb: 'ps', target: '--all' };
    const answer = await this.call({ method: 'GET', path: '/containers/json', query: { all: true } }, context);
    const now = new Date();
    return (parseJson<LibpodListEntry[] | null>(answer.body, context) ?? []).map((entry) =>
      mapLibpodListEntry(entry, now),
    );
  }

  async version(): Promise<string> {
    const context: CallContext = { verb: 'version', target: '' };
    const answer = await this.call({ method: 'GET', path: '/version' }, context);
    const version = parseJson<{ Version?: string }>(answer.body, context).Version;
    if (!version) throw new RuntimeCommandError('podman version: no version in the answer', details(context, ''));
    return version;
  }

  /**
   * Streams the container's logs. The API multiplexes stdout and stderr into one stream of
   * framed chunks unless the container has a TTY (then everything is stdout). Ends when podman
   * ends the answer (a stopped container under `follow`), when the signal aborts, or when the
   * consumer stops iterating; the HTTP request is destroyed before the iterator finishes.
   */
  async *logs(options: LogOptions): AsyncGenerator<LogChunk> {
    const name = requirePositional('name', options.name);
    const signal = options.signal;
    if (signal?.aborted) return;
    const entry = await this.inspectEntry(name);
    if (!entry) throw new ContainerNotFoundError(name);
    const tty = (entry.Config as { Tty?: boolean } | undefined)?.Tty === true;
    const context: CallContext = { verb: 'logs', target: name, container: name };
    const { status, response, request } = await this.client.stream({
      method: 'GET',
      path: `/containers/${encodeURIComponent(name)}/logs`,
      query: {
        stdout: true,
        stderr: true,
        follow: options.follow || undefined,
        tail: options.tail || undefined,
        since: options.since || undefined,
        timestamps: options.timestamps || undefined,
      },
      timeoutMs: this.requestTimeoutMs,
    });
    const onAbort = (): void => {
      request.destroy();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (status >= 300) {
        const body = await readAll(response);
        throw this.failure(context, status, body);
      }
      const demuxer = new LogDemuxer();
      try {
        for await (const data of response as AsyncIterable<Buffer>) {
          if (signal?.aborted) return;
          const chunks: LogChunk[] = tty ? [{ stream: 'stdout', data }] : demuxer.push(data);
          for (const chunk of chunks) {
            yield chunk;
            if (signal?.aborted) return;
          }
        }
      } catch (error) {
        if (signal?.aborted) return;
        throw error instanceof McpError
          ? error
          : new RuntimeCommandError(`podman logs ${name}: the log stream broke off: ${String(error)}`, details(context, ''));
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      request.destroy();
    }
  }

  /**
   * `GET /events?stream=true` filtered to containers, on a connection of its own. podman
   * answers the headers at once, so the stream is known open when this resolves. The stream
   * ends when the service goes away (it was restarted, or died).
   */
  async events(): Promise<ContainerEventStream> {
    const context: CallContext = { verb: 'events', target: '' };
    const { status, response, request } = await this.client.stream({
      method: 'GET',
      path: '/events',
      query: { stream: true, filters: JSON.stringify({ type: ['container'] }) },
      timeoutMs: this.requestTimeoutMs,
    });
    if (status >= 300) {
      const body = await readAll(response);
      request.destroy();
      throw this.failure(context, status, body);
    }
    return ndjsonEventStream<LibpodEventEntry>({
      source: response,
      parse: parseLibpodEvent,
      dispose: () => request.destroy(),
    });
  }

  async createSecret(options: { name: string; value: Buffer }): Promise<SecretInfo> {
    const name = requirePositional('secret name', options.name);
    await this.removeSecret({ name });
    const context: CallContext = { verb: 'secret create', target: name };
    const answer = await this.call({ method: 'POST', path: '/secrets/create', query: { name }, body: options.value }, context);
    const id = parseJson<{ ID?: string }>(answer.body, context).ID;
    const created = (await this.listSecrets()).find((secret) => secret.id === id);
    if (!created) throw new RuntimeCommandError(`podman secret create ${name}: the new secret is not listed`, details(context, ''));
    return created;
  }

  async listSecrets(): Promise<SecretInfo[]> {
    const context: CallContext = { verb: 'secret ls', target: '' };
    const answer = await this.call({ method: 'GET', path: '/secrets/json' }, context);
    return (parseJson<PodmanSecretEntry[] | null>(answer.body, context) ?? []).map(mapSecretEntry);
  }

  async removeSecret(options: { name: string }): Promise<void> {
    const name = requirePositional('secret name', options.name);
    const context: CallContext = { verb: 'secret rm', target: name };
    const answer = await this.call({ method: 'DELETE', path: `/secrets/${encodeURIComponent(name)}` }, context, [HTTP_NOT_FOUND, 500]);
    if (answer.status >= 300 && !/no such secret/i.test(errorMessage(answer.body))) throw this.failure(context, answer.status, answer.body);
  }

  async readSecret(options: { name: string }): Promise<Buffer | null> {
    const name = requirePositional('secret name', options.name);
    const context: CallContext = { verb: 'secret inspect', target: name };
    const answer = await this.call({ method: 'GET', path: `/secrets/${encodeURIComponent(name)}/json` }, context, [HTTP_NOT_FOUND]);
    if (answer.status === HTTP_NOT_FOUND) return null;
    return readSecretValue(parseJson<PodmanSecretInspect>(answer.body, context));
  }

  async pause(options: { name: string }): Promise<void> {
    const name = requirePositional('name', options.name);
    await this.call({ method: 'POST', path: `/containers/${encodeURIComponent(name)}/pause` }, { verb: 'pause', target: name, container: name });
  }

  async unpause(options: { name: string }): Promise<void> {
    const name = requirePositional('name', options.name);
    const context: CallContext = { verb: 'unpause', target: name, container: name };
    const answer = await this.call({ method: 'POST', path: `/containers/${encodeURIComponent(name)}/unpause` }, context, [HTTP_NOT_FOUND, 500]);
    if (answer.status === HTTP_NOT_FOUND) return;
    if (answer.status >= 300 && !/not paused|state improper/i.test(errorMessage(answer.body))) throw this.failure(context, answer.status, answer.body);
  }

  async volumeMountpoint(options: { name: string }): Promise<string | null> {
    const name = requirePositional('volume name', options.name);
    const context: CallContext = { verb: 'volume inspect', target: name };
    const answer = await this.call({ method: 'GET', path: `/volumes/${encodeURIComponent(name)}/json` }, context, [HTTP_NOT_FOUND]);
    if (answer.status === HTTP_NOT_FOUND) return null;
    return parseJson<{ Mountpoint?: string }>(answer.body, context).Mountpoint || null;
  }

  /** Closes the kept-alive connections (module shutdown). */
  /** Through the CLI, like pull: rare (health probes, deploys) and the exec API needs a hijacked stream. */
  execIn(options: { name: string; cmd: string[]; timeoutMs: number }): Promise<ExecResult> {
    return this.cli.execIn(options);
  }

  /**
   * libpod's exec endpoints: create (`POST /containers/{name}/exec`), start with the
   * connection hijacked (`POST /exec/{id}/start`, 101: the socket carries stdin one way and
   * the output the other, framed like logs unless a TTY), resize (`POST /exec/{id}/resize`)
   * and inspect for the exit status. The socket is read only as fast as the output is
   * consumed. Closing destroys the socket and kills the command by its host pid (exec
   * inspect's `Pid`: the agent's own user runs it, rootless or root).
   */
  async exec(options: ExecSessionOptions): Promise<ExecSession> {
    const name = requirePositional('name', options.name);
    if (options.cmd.length === 0) throw new InvalidArgumentError('exec needs a command');
    const context: CallContext = { verb: 'exec', target: name, container: name };
    const created = await this.call(
      {
        method: 'POST',
        path: `/containers/${encodeURIComponent(name)}/exec`,
        body: {
          AttachStdin: options.stdin,
          AttachStdout: true,
          AttachStderr: true,
          Tty: options.tty,
          Cmd: options.cmd,
          User: options.user || undefined,
          WorkingDir: options.workdir || undefined,
        },
      },
      context,
      [500, 409],
    );
    if (created.status >= 300) {
      const message = errorMessage(created.body);
      if (/state improper|not running/i.test(message)) throw new ContainerNotRunningError(`container ${name} is not running`);
      throw this.failure(context, created.status, created.body);
    }
    const id = parseJson<{ Id?: string }>(created.body, context).Id;
    if (!id) throw new RuntimeCommandError(`podman exec ${name}: no exec session id in the answer`, details(context, ''));
    const session = `/exec/${encodeURIComponent(id)}`;
    const size = options.tty && options.size ? { h: options.size.rows, w: options.size.cols } : {};
    const started = await this.client.upgrade({
      method: 'POST',
      path: `${session}/start`,
      body: { Detach: false, Tty: options.tty, ...size },
      timeoutMs: this.requestTimeoutMs,
    });
    if (!('socket' in started)) {
      if (/state improper|not running/i.test(errorMessage(started.body))) throw new ContainerNotRunningError(`container ${name} is not running`);
      throw this.failure(context, started.status, started.body);
    }
    const { socket, head } = started;
    const inspectSession = async (): Promise<{ Running?: boolean; ExitCode?: number; Pid?: number }> =>
      parseJson(
        (await this.call({ method: 'GET', path: `${session}/json` }, { verb: 'exec inspect', target: name, container: name })).body,
        context,
      );
    let closedByUs = false;
    const tty = options.tty;
    async function* output(): AsyncGenerator<LogChunk> {
      const demuxer = new LogDemuxer({ copy: false });
      const split = (data: Buffer): LogChunk[] => (tty ? [{ stream: 'stdout', data }] : demuxer.push(data));
      try {
        yield* batchedOutput(socket, split, { head, ignoreError: () => closedByUs });
      } catch (error) {
        throw new RuntimeUnavailableError(`podman exec ${name}: the stream broke off: ${(error as Error).message}`);
      }
    }
    return {
      output: output(),
      write: (data) => writeWithBackpressure(socket, data),
      endInput: () => {
        if (!socket.destroyed) socket.end();
      },
      resize: async (next: TerminalSize) => {
        await this.call(
          { method: 'POST', path: `${session}/resize`, query: { h: next.rows, w: next.cols } },
          { verb: 'exec resize', target: name, container: name },
        );
        return true;
      },
      exitCode: async () => {
        // podman records the exit status as the session ends: right after the stream closed.
        const deadline = Date.now() + 10_000;
        for (;;) {
          const state = await inspectSession();
          if (!state.Running) return closedByUs && state.ExitCode === undefined ? 137 : (state.ExitCode ?? 0);
          if (Date.now() > deadline) throw new RuntimeCommandError(`podman exec ${name}: the session still runs after its stream closed`, details(context, ''));
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      },
      close: async () => {
        closedByUs = true;
        socket.destroy();
        const state = await inspectSession().catch(() => ({ Running: false, Pid: undefined }));
        if (state.Running && state.Pid) {
          try {
            process.kill(state.Pid, 'SIGKILL');
          } catch {
            // Gone meanwhile.
          }
        }
      },
    };
  }

  async rename(options: { name: string; newName: string }): Promise<void> {
    const name = requirePositional('name', options.name);
    requirePositional('new name', options.newName);
    await this.call(
      { method: 'POST', path: `/containers/${encodeURIComponent(name)}/rename`, query: { name: options.newName } },
      { verb: 'rename', target: name, container: name },
    );
  }

  async imageDigest(options: { image: string }): Promise<string> {
    const image = requirePositional('image', options.image);
    const context: CallContext = { verb: 'image inspect', target: image };
    const answer = await this.call({ method: 'GET', path: `/images/${encodeURIComponent(image)}/json` }, context);
    return parseJson<{ Digest?: string }>(answer.body, context).Digest ?? '';
  }

  async removeImage(options: { image: string }): Promise<void> {
    const image = requirePositional('image', options.image);
    await this.call({ method: 'DELETE', path: `/images/${encodeURIComponent(image)}` }, { verb: 'rmi', target: image });
  }

  /** Through the CLI: the listing has no layers, and a load moves whole images like a pull. */
  localImages(): Promise<LocalImage[]> {
    return this.cli.localImages();
  }

  loadImage(options: { layoutDir: string }): Promise<string> {
    return this.cli.loadImage(options);
  }

  loadImageFromRegistry(options: { reference: string; signal?: AbortSignal }): Promise<string> {
    return this.cli.loadImageFromRegistry(options);
  }

  tagImage(options: { image: string; reference: string }): Promise<void> {
    return this.cli.tagImage(options);
  }

  close(): void {
    this.client.close();
  }

  onApplicationShutdown(): void {
    this.close();
  }

  private async inspectEntry(name: string): Promise<PodmanInspectEntry | null> {
    const context: CallContext = { verb: 'inspect', target: name };
    const answer = await this.call(
      { method: 'GET', path: `/containers/${encodeURIComponent(name)}/json` },
      context,
      [HTTP_NOT_FOUND],
    );
    if (answer.status === HTTP_NOT_FOUND) return null;
    return parseJson<PodmanInspectEntry>(answer.body, context);
  }

  /**
   * One API call; a 2xx answer or one of `accepted` is returned, anything else becomes the
   * domain error podman's message classifies to.
   */
  private async call(
    request: Omit<LibpodRequest, 'timeoutMs'>,
    context: CallContext,
    accepted: number[] = [],
    stopSeconds = 0,
  ): Promise<LibpodResponse> {
    const answer = await this.client.request({ ...request, timeoutMs: this.requestTimeoutMs + stopSeconds * 1000 });
    if ((answer.status >= 200 && answer.status < 300) || accepted.includes(answer.status)) return answer;
    throw this.failure(context, answer.status, answer.body);
  }

  private failure(context: CallContext, status: number, body: Buffer): McpError {
    const message = errorMessage(body) || `HTTP ${status}`;
    if (status === HTTP_NOT_FOUND && context.container !== undefined) return new ContainerNotFoundError(context.container);
    return classifyPodmanFailure({
      args: [context.verb],
      exitCode: null,
      stderr: message,
      target: context.target,
      container: context.container,
    });
  }

  private stopSeconds(seconds: number | undefined): number {
    const value = seconds ?? this.defaultStopTimeoutSeconds;
    if (!Number.isInteger(value) || value < 0) {
      throw new InvalidArgumentError(`stop timeout must be a whole number of seconds, got ${value}`);
    }
    return value;
  }
}

/** A DELETE answers 200 with per-container reports, which may carry the failure. */
function throwReportErrors(answer: LibpodResponse, context: CallContext): void {
  if (!answer.body.length) return;
  let reports: unknown;
  try {
    reports = JSON.parse(answer.body.toString('utf8'));
  } catch {
    return;
  }
  if (!Array.isArray(reports)) return;
  const failed = reports
    .map((report: { Err?: unknown }) => report?.Err)
    .find((err): err is string => typeof err === 'string' && err !== '');
  if (failed) {
    throw classifyPodmanFailure({ args: [context.verb], exitCode: null, stderr: failed, target: context.target });
  }
}

function errorMessage(body: Buffer): string {
  const text = body.toString('utf8').trim();
  try {
    const parsed = JSON.parse(text) as LibpodErrorBody;
    return parsed.message || parsed.cause || text;
  } catch {
    return text;
  }
}

function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

function requirePositional(field: string, value: string): string {
  // Not an argv here, but both adapters accept exactly the same names.
  if (!value || value.startsWith('-')) {
    throw new InvalidArgumentError(`${field} must be non-empty and must not start with "-": "${value}"`);
  }
  return value;
}

function parseJson<T>(body: Buffer, context: CallContext): T {
  try {
    return JSON.parse(body.toString('utf8')) as T;
  } catch {
    throw new RuntimeCommandError(`podman ${context.verb}: unreadable JSON answer`, details(context, ''));
  }
}

function details(context: CallContext, stderr: string) {
  return { args: [context.verb], exitCode: null, stderr };
}
