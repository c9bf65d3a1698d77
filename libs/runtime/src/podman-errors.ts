import {
  ContainerNotFoundError,
  ImageNotFoundError,
  McpError,
  PortConflictError,
  RegistryAuthError,
  RegistryUnreachableError,
  RuntimeCommandError,
  RuntimeUnavailableError,
} from '@mcp/common';

/** How much of podman's stderr an error keeps: the end, where podman puts its verdict. */
export const STDERR_LIMIT = 2048;

export interface PodmanFailure {
  /** The argv after the podman binary. */
  args: readonly string[];
  exitCode: number | null;
  stderr: string;
  /** The container or image the command was about, for messages. */
  target: string;
  /** Set when the failure concerned a container that podman says does not exist. */
  container?: string;
}

const CONTAINER_MISSING = /no such container|no container with (?:name or )?id\b/i;
const REGISTRY_AUTH =
  /\bunauthorized\b|authentication required|requested access to the resource is denied|insufficient_scope/i;
const IMAGE_MISSING =
  /manifest unknown|name unknown|image not known|no such image|repository name not known|short-name .* did not resolve|no unqualified-search registries/i;
const REGISTRY_UNREACHABLE =
  /pinging container registry|connection refused|no such host|i\/o timeout|network is unreachable|tls handshake timeout|server gave http response to https client|x509:/i;
const PORT_CONFLICT = /address already in use|cannot listen on the \w+ port|\bbind: /i;

/** The last STDERR_LIMIT characters of stderr, trimmed. */
export function trimStderr(stderr: string): string {
  const trimmed = stderr.trim();
  return trimmed.length > STDERR_LIMIT ? trimmed.slice(trimmed.length - STDERR_LIMIT) : trimmed;
}

/** Podman's own verdict: its last `Error:` line, else the last non-empty line. */
export function podmanMessage(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line);
  const errorLine = [...lines].reverse().find((line) => line.startsWith('Error: '));
  return (errorLine ?? lines.at(-1) ?? '').replace(/^Error: /, '');
}

/** `rm` attempts when podman's restart policy races the removal. */
const REMOVE_ATTEMPTS = 3;

/**
 * Runs a removal (either adapter's). A container whose restart policy is restarting it right
 * now can make podman refuse ("state improper"); that race is podman's, so it gets a bounded
 * number of further attempts. Any other failure is thrown at once.
 */
export async function removeRetryingRestartRace(remove: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await remove();
    } catch (error) {
      const racing = error instanceof RuntimeCommandError && /state improper|could not be stopped/i.test(error.details.stderr);
      if (!racing || attempt >= REMOVE_ATTEMPTS) throw error;
    }
  }
}

/**
 * Maps a failed podman command to a typed domain error. Order matters: a missing container
 * first (only for commands about one), then registry credentials (a 401 also mentions the
 * manifest), then missing images, unreachable registries and port conflicts.
 */
export function classifyPodmanFailure(failure: PodmanFailure): McpError {
  const stderr = trimStderr(failure.stderr);
  const verb = failure.args[0] ?? 'podman';
  const said = podmanMessage(stderr) || `exit code ${failure.exitCode ?? 'unknown'}`;
  const message = `podman ${verb} ${failure.target}: ${said}`;
  const details = { args: [...failure.args], exitCode: failure.exitCode, stderr };
  if (failure.container !== undefined && CONTAINER_MISSING.test(stderr)) {
    return new ContainerNotFoundError(failure.container);
  }
  if (REGISTRY_AUTH.test(stderr)) return new RegistryAuthError(message, details);
  if (IMAGE_MISSING.test(stderr)) return new ImageNotFoundError(message, details);
  if (REGISTRY_UNREACHABLE.test(stderr)) return new RegistryUnreachableError(message, details);
  if (PORT_CONFLICT.test(stderr)) return new PortConflictError(message, details);
  return new RuntimeCommandError(message, details);
}

/** The podman binary could not be started at all (missing, not executable). */
export function runtimeUnavailable(podmanPath: string, error: NodeJS.ErrnoException): RuntimeUnavailableError {
  const reason = error.code === 'ENOENT' ? 'not found' : (error.code ?? error.message);
  return new RuntimeUnavailableError(`container runtime unavailable: ${podmanPath}: ${reason}`, { cause: error });
}
