/**
 * The container runtime port. The agent talks to containers only through this; the real
 * adapter is PodmanRuntime (argv arrays, never a shell). Missing containers are reported with
 * ContainerNotFoundError; podman failures with RuntimeCommandError subclasses carrying stderr.
 */

/** MCP's labels on every container it runs. */
export const LABEL_MANAGED = 'mcp.managed';
export const LABEL_SERVICE = 'mcp.service';
export const LABEL_COMPONENT = 'mcp.component';
export const LABEL_SPEC_HASH = 'mcp.spec-hash';
/**
 * Names of the variables a container got from secrets (comma-separated). Podman's inspect
 * shows such a variable's value in the container's env; the adapters set this label on `run`
 * and leave those variables out of `inspect`, so no value leaves the runtime port.
 */
export const LABEL_SECRET_ENV = 'mcp.secret-env';
/**
 * Marks a one-off container (SPEC §12 `mcp run`, jobs): its value is the kind (`run`, or
 * `job:<name>`). Such containers are nobody's component: the live state (and with it the
 * monitor, drift, adopt, status and metrics) leaves them out.
 */
export const LABEL_RUN = 'mcp.run';
/** Which agent made a one-off container (DeployerOptions.runOwner), so its next start can remove leftovers. */
export const LABEL_RUN_OWNER = 'mcp.run-owner';

/** Whether a container is a one-off run (by its label; by its name when podman sent no labels). */
export function isOneOffContainer(container: { name: string; labels: Record<string, string> }): boolean {
  if (container.labels[LABEL_RUN]) return true;
  return Object.keys(container.labels).length === 0 && /-run-[0-9a-f]{8}$/.test(container.name);
}

export interface RunOptions {
  name: string;
  image: string;
  network?: string;
  user?: string;
  restart?: string;
  /** `[hostIP:]hostPort:containerPort[/proto]` */
  ports: string[];
  /** `host:container[:opts]` */
  volumes: string[];
  /** `KEY=VALUE` */
  env: string[];
  /** Replaces the image's command when non-empty. */
  cmd: string[];
  labels: Record<string, string>;
  /** podman `--memory`: a number with an optional unit b, k, m or g (`512m`). */
  memory?: string;
  /** podman `--cpus`: how many CPUs' worth of time, > 0 (`0.5`). */
  cpus?: number;
  /** Podman secrets (by their podman name) given to the container. */
  secrets?: SecretMount[];
  /** podman `--stop-signal` (`SIGQUIT`); absent: the image's STOPSIGNAL, else SIGTERM. */
  stopSignal?: string;
  /** podman `--stop-timeout`, whole seconds: what a later stop without its own timeout waits. */
  stopTimeoutSeconds?: number;
}

/**
 * One podman secret in a container: `file` mounts it read-only at `/run/secrets/<target>`,
 * `env` sets the variable `<target>` to its value (podman `--secret NAME,type=env,target=VAR`).
 */
export interface SecretMount {
  /** The podman secret's name. */
  source: string;
  type: 'file' | 'env';
  target: string;
}

/** A podman secret as a listing shows it; never its value. */
export interface SecretInfo {
  /** Podman's id; a new one each time the secret is created, so it identifies the value's version. */
  id: string;
  name: string;
  createdAt: Date;
}

export interface PortMapping {
  hostIp: string;
  hostPort: number;
  containerPort: number;
  protocol: string;
}

/** One container as a listing shows it. */
export interface ContainerSummary {
  id: string;
  name: string;
  image: string;
  /** Podman's state: running, exited, created, paused, stopped, ... */
  state: string;
  /** Podman's human status line, e.g. "Up 5 minutes". */
  status: string;
  command: string[];
  labels: Record<string, string>;
  ports: PortMapping[];
  createdAt?: Date;
  /** When the current run started; undefined when never started. */
  startedAt?: Date;
  exitCode?: number;
}

/** Everything needed to re-create a container (adoption records this as the spec). */
export interface ContainerDetails extends ContainerSummary {
  /**
   * As podman reports it: the container's own variables plus those the image and podman add
   * (PATH, TERM, container=podman, HOME, HOSTNAME).
   */
  env: string[];
  /** The command the container runs (podman's Config.Cmd). */
  cmd: string[];
  /** `host:container[:opts]` for bind mounts and named volumes. */
  volumes: string[];
  /** `[hostIP:]hostPort:containerPort[/proto]` */
  portSpecs: string[];
  network?: string;
  user?: string;
  restart?: string;
  imageId?: string;
  /** `--memory` in bytes; undefined when unlimited. */
  memoryBytes?: number;
  /** `--cpus`; undefined when unlimited. */
  cpus?: number;
  /** Names of the podman secrets the container was given. */
  secrets?: string[];
  /** The signal a stop sends first (`SIGTERM`), as a name; undefined when podman did not say. */
  stopSignal?: string;
  /** Seconds a stop waits before SIGKILL (podman's StopTimeout; 10 by default). */
  stopTimeoutSeconds?: number;
}

export interface LogOptions {
  name: string;
  follow?: boolean;
  /** Last N lines; undefined or 0 means all. */
  tail?: number;
  /** Passed to podman: a duration like `10m` or a timestamp. */
  since?: string;
  timestamps?: boolean;
  /** Aborting ends the stream and the podman process behind it. */
  signal?: AbortSignal;
}

export interface LogChunk {
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

/** The outcome of a command run inside a container. */
export interface ExecResult {
  /** The command's exit status; 124 when it was cut off at the timeout (like coreutils' timeout). */
  exitCode: number;
  /** stdout and stderr together, trimmed to the last few KiB. */
  output: string;
}

/**
 * One container event from podman's event stream. `action` is podman's word: create, init,
 * start, restart, died, stop, kill, pause, unpause, remove, rename, cleanup, exec, ...
 */
export interface ContainerEvent {
  time: Date;
  id: string;
  /** The container's name (its new name for `rename`). */
  name: string;
  image: string;
  action: string;
  /** Set for `died`. */
  exitCode?: number;
  /** The container's labels, when podman sends them (the REST API does). */
  labels: Record<string, string>;
}

/**
 * A followed event stream: iterating yields events as podman reports them and ends when
 * podman ends the stream (its service went away); a broken stream throws
 * RuntimeUnavailableError. `close()` ends it from this side.
 */
export interface ContainerEventStream extends AsyncIterable<ContainerEvent> {
  close(): void;
}

import type { TerminalSize } from '@mcp/common';
export type { TerminalSize } from '@mcp/common';

/** What `exec` runs, and how (SPEC §12 `mcp exec`). */
export interface ExecSessionOptions {
  /** A running container. */
  name: string;
  /** argv, never a shell string. */
  cmd: string[];
  /** Attach the command's stdin (`-i`); otherwise it reads EOF at once. */
  stdin: boolean;
  /** Give the command a pseudo-terminal (`-t`): its output is then all stdout, raw. */
  tty: boolean;
  user?: string;
  workdir?: string;
  /** The terminal's size at the start, when `tty`. */
  size?: TerminalSize;
}

/**
 * A command running inside a container, with its streams kept apart. Output is pulled:
 * a consumer that stops reading stops the command's output at the source (backpressure),
 * so memory stays bounded whatever it writes.
 */
export interface ExecSession {
  /** stdout and stderr chunks in the order they came; ends when the command closed them. */
  readonly output: AsyncIterable<LogChunk>;
  /** Feeds the command's stdin; resolves once the bytes are taken (backpressure). */
  write(data: Buffer): Promise<void>;
  /** EOF on the command's stdin. */
  endInput(): void;
  /** A new terminal size (TTY only); false when this adapter cannot resize. */
  resize(size: TerminalSize): Promise<boolean>;
  /** The command's exit status, once its output ended (127/126: not found / not executable, as podman). */
  exitCode(): Promise<number>;
  /** Ends the session from this side (the client went away): the stream is closed and the command killed where the adapter can. */
  close(): Promise<void>;
}

/** One local image: its ID (`sha256:…`, the config digest) and its layers' uncompressed digests. */
export interface LocalImage {
  id: string;
  layers: string[];
}

export abstract class ContainerRuntime {
  /**
   * Starts `cmd` in a running container and hands back its streams (podman exec).
   * ContainerNotFoundError when there is no such container, ContainerNotRunningError when it
   * is not running; a command that does not exist is not an error: its session ends with 127
   * (126 when it cannot be executed), as podman gives.
   */
  abstract exec(options: ExecSessionOptions): Promise<ExecSession>;

  /**
   * Pull an image; `authFile` is a podman auth file (registry credentials). A `localhost/`
   * image already present is left as is (podman cannot pull those).
   */
  abstract pull(options: { image: string; authFile?: string; tlsVerify?: boolean }): Promise<void>;
  abstract imageExists(options: { image: string }): Promise<boolean>;
  /** Create and start a detached container; resolves to its id. Never pulls: pull first. */
  abstract run(options: RunOptions): Promise<string>;
  abstract stop(options: { name: string; timeoutSeconds?: number }): Promise<void>;
  abstract start(options: { name: string }): Promise<void>;
  abstract restart(options: { name: string; timeoutSeconds?: number }): Promise<void>;
  /** Removes the container (forcefully, with a short stop timeout); a missing one is fine. */
  abstract remove(options: { name: string; timeoutSeconds?: number }): Promise<void>;
  /** Null when no such container. */
  abstract inspect(options: { name: string }): Promise<ContainerDetails | null>;
  /** Every container, running or not, in exactly one runtime call. */
  abstract list(): Promise<ContainerSummary[]>;
  /** Ends quietly when the signal aborts; ContainerNotFoundError for an unknown container. */
  abstract logs(options: LogOptions): AsyncIterable<LogChunk>;
  abstract version(): Promise<string>;
  /**
   * Runs `cmd` (argv, no shell) inside a running container, bounded by `timeoutMs`. A command
   * that fails is not an error: its exit status comes back; ContainerNotFoundError when there
   * is no such container.
   */
  abstract execIn(options: { name: string; cmd: string[]; timeoutMs: number }): Promise<ExecResult>;
  /** Renames a container; ContainerNotFoundError when there is none by that name. */
  abstract rename(options: { name: string; newName: string }): Promise<void>;
  /** The image's digest (`sha256:…`) as podman resolved it; '' when it has none. */
  abstract imageDigest(options: { image: string }): Promise<string>;
  /**
   * Removes an image reference without force (`podman rmi`): a tag that shares its image with
   * other tags is only untagged; an image a container uses is refused (an error).
   */
  abstract removeImage(options: { image: string }): Promise<void>;
  /**
   * Follows podman's container events from now on; resolves once the stream is open (events
   * that happen after that are delivered). RuntimeUnavailableError when it cannot be opened.
   */
  abstract events(): Promise<ContainerEventStream>;
  /**
   * Stores a podman secret (value in the request body or on podman's stdin, never in argv);
   * an existing secret of that name is replaced. Resolves to the new secret's listing entry.
   */
  abstract createSecret(options: { name: string; value: Buffer }): Promise<SecretInfo>;
  /** Every podman secret of this user, in one runtime call per listing. */
  abstract listSecrets(): Promise<SecretInfo[]>;
  /** A missing secret is fine. */
  abstract removeSecret(options: { name: string }): Promise<void>;
  /**
   * A secret's value, for `mcp move --copy-secrets` only (SPEC §15); null when there is no
   * such secret. Never logged; podman's `file` driver only (see readSecretValue).
   */
  abstract readSecret(options: { name: string }): Promise<Buffer | null>;
  /** `podman pause`: freezes the container's processes (SPEC §14 backup mode "pause"). */
  abstract pause(options: { name: string }): Promise<void>;
  /** `podman unpause`; a container that is not paused (or gone) is fine, so recovery can repeat it. */
  abstract unpause(options: { name: string }): Promise<void>;
  /** Where a named volume's data lives on the host (`podman volume inspect` Mountpoint); null when there is no such volume. */
  abstract volumeMountpoint(options: { name: string }): Promise<string | null>;
  /** Every local image with its layers' diff IDs (SPEC §13: which blobs a push may skip). */
  abstract localImages(): Promise<LocalImage[]>;
  /**
   * Loads the image of an OCI layout directory (one manifest; layer blobs podman already
   * stores may be absent) and leaves it without any name; resolves to the loaded image's ID
   * (`sha256:…`). Naming it is `tagImage`, a separate step the caller takes once the ID is right.
   */
  abstract loadImage(options: { layoutDir: string }): Promise<string>;
  /**
   * Pulls an image from a registry the agent itself serves on loopback over plain HTTP
   * (`127.0.0.1:<port>/<repository>:<tag>`, an image push streaming in: SPEC §13) and leaves
   * it without any name, like `loadImage`; resolves to the loaded image's ID (`sha256:…`).
   */
  abstract loadImageFromRegistry(options: { reference: string; signal?: AbortSignal }): Promise<string>;
  /** Gives the local image `image` (an ID or a name) the name `reference`. */
  abstract tagImage(options: { image: string; reference: string }): Promise<void>;
}
