import { spawn } from 'node:child_process';
import { Injectable } from '@nestjs/common';
import { RegistryAuthError, RegistryUnreachableError, RuntimeCommandError, RuntimeUnavailableError } from '@mcp/common';
import { podmanMessage } from '@mcp/runtime';

export interface RegistryLoginInput {
  authFile: string;
  server: string;
  username: string;
  /** The password or token. Goes to the login process's stdin only. */
  secret: string;
  tlsVerify: boolean;
}

/** Port: store credentials for a registry in an auth file, checking them with the registry. */
export abstract class RegistryLogin {
  /** Rejects with RegistryAuthError when the registry refuses the credentials. */
  abstract login(input: RegistryLoginInput): Promise<void>;
}

export interface PodmanRegistryLoginOptions {
  podmanPath?: string;
  env?: NodeJS.ProcessEnv;
}

const STDERR_LIMIT = 2048;
const AUTH_REFUSED = /invalid username\/password|\bunauthorized\b|authentication required|access to the resource is denied|\b401\b/i;
const UNREACHABLE = /connection refused|no such host|i\/o timeout|network is unreachable|tls handshake|server gave http response to https client|x509:|pinging container registry/i;

/**
 * `podman login --authfile F --username U --password-stdin [--tls-verify=false] SERVER`.
 * The secret is written to stdin: never in argv (visible in /proc) nor the environment.
 */
@Injectable()
export class PodmanRegistryLogin extends RegistryLogin {
  private readonly podmanPath: string;
  private readonly env: NodeJS.ProcessEnv | undefined;

  constructor(options: PodmanRegistryLoginOptions = {}) {
    super();
    this.podmanPath = options.podmanPath ?? 'podman';
    this.env = options.env;
  }

  login(input: RegistryLoginInput): Promise<void> {
    const args = ['login', '--authfile', input.authFile, '--username', input.username, '--password-stdin'];
    if (!input.tlsVerify) args.push('--tls-verify=false');
    args.push('--', input.server);
    return new Promise<void>((resolve, reject) => {
      const child = spawn(this.podmanPath, args, { env: this.env, stdio: ['pipe', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-STDERR_LIMIT);
      });
      child.stdin.on('error', () => undefined);
      child.once('error', (error: NodeJS.ErrnoException) => {
        reject(new RuntimeUnavailableError(`container runtime unavailable: ${this.podmanPath}: ${error.code ?? error.message}`, { cause: error }));
      });
      child.once('close', (code) => {
        if (code === 0) return resolve();
        const said = podmanMessage(stderr) || `exit code ${code ?? 'unknown'}`;
        const message = `podman login ${input.server}: ${said}`;
        const details = { args, exitCode: code, stderr: stderr.trim() };
        if (AUTH_REFUSED.test(stderr)) reject(new RegistryAuthError(message, details));
        else if (UNREACHABLE.test(stderr)) reject(new RegistryUnreachableError(message, details));
        else reject(new RuntimeCommandError(message, details));
      });
      child.stdin.end(input.secret);
    });
  }
}
