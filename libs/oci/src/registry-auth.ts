import * as fs from 'node:fs';
import * as path from 'node:path';
import { Injectable, Logger } from '@nestjs/common';
import { RegistryAuthError } from '@mcp/common';
import { normalizeRegistryHost, registryHostOf } from './image-reference';
import { OciConfig, type RegistryCredentialConfig } from './oci-config';
import { RegistryLogin } from './registry-login';

/** What a pull needs to authenticate: handed to the caller's pull function. */
export interface PullAuth {
  /** Set when the image's registry has configured credentials. */
  authFile?: string;
  /** false for registries configured with `tls_verify = false`. */
  tlsVerify?: boolean;
}

export interface PullWithAuthInput {
  image: string;
  /** Does the pull, e.g. `(auth) => runtime.pull({ image, ...auth })`; rejects with RegistryAuthError on 401. */
  pull: (auth: PullAuth) => Promise<void>;
}

/**
 * Registry credentials for pulls (SPEC §6 MCR). Keeps the agent's own podman auth file,
 * logs in when it has no entry for a registry, and when a pull is refused logs in once more
 * (re-reading the password file, so a rotated credential works without a restart) and
 * retries once. Errors name the registry, the user and the credential file, never a secret.
 */
@Injectable()
export class RegistryAuth {
  private readonly logger = new Logger(RegistryAuth.name);
  /** Logins to one auth file are serialised: podman rewrites the whole file. */
  private loginQueue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly config: OciConfig,
    private readonly registryLogin: RegistryLogin,
  ) {}

  get authFile(): string {
    return this.config.authFile;
  }

  /** The configured credential for a registry host, if any. */
  credentialFor(server: string): RegistryCredentialConfig | undefined {
    const host = normalizeRegistryHost(server);
    return this.config.credentials.find((credential) => normalizeRegistryHost(credential.server) === host);
  }

  /** Logs in to `server` with its configured credential (re-reading the secret file). */
  async ensureLogin(server: string): Promise<void> {
    const credential = this.credentialFor(server);
    if (!credential) throw new RegistryAuthError(`registry ${server}: no credentials configured`, { args: [], exitCode: null, stderr: '' });
    await this.login(credential);
  }

  /** True when the auth file holds an entry for `server`. */
  async hasLogin(server: string): Promise<boolean> {
    const host = normalizeRegistryHost(server);
    let parsed: unknown;
    try {
      parsed = JSON.parse(await fs.promises.readFile(this.config.authFile, 'utf8'));
    } catch {
      return false;
    }
    const auths = (parsed as { auths?: Record<string, unknown> } | null)?.auths;
    if (!auths || typeof auths !== 'object') return false;
    return Object.keys(auths).some((key) => normalizeRegistryHost(key) === host);
  }

  async pullWithAuth(input: PullWithAuthInput): Promise<void> {
    const credential = this.credentialFor(registryHostOf(input.image));
    if (!credential) {
      await input.pull({});
      return;
    }
    const auth: PullAuth = { authFile: this.config.authFile, tlsVerify: credential.tlsVerify };
    await this.loginIfMissing(credential);
    try {
      await input.pull(auth);
      return;
    } catch (error) {
      if (!(error instanceof RegistryAuthError)) throw error;
      this.logger.log(`registry ${credential.server}: pull of ${input.image} refused; logging in again`);
    }
    await this.login(credential);
    try {
      await input.pull(auth);
    } catch (error) {
      if (error instanceof RegistryAuthError) throw this.authFailed(credential, error);
      throw error;
    }
  }

  private login(credential: RegistryCredentialConfig): Promise<void> {
    return this.enqueue(() => this.loginNow(credential));
  }

  /** Checked inside the queue, so concurrent first pulls from one registry log in once. */
  private loginIfMissing(credential: RegistryCredentialConfig): Promise<void> {
    return this.enqueue(async () => {
      if (!(await this.hasLogin(credential.server))) await this.loginNow(credential);
    });
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    const run = this.loginQueue.then(work);
    this.loginQueue = run.catch(() => undefined);
    return run;
  }

  private async loginNow(credential: RegistryCredentialConfig): Promise<void> {
    const secret = await this.readSecret(credential);
    await prepareAuthFile(this.config.authFile);
    try {
      await this.registryLogin.login({
        authFile: this.config.authFile,
        server: credential.server,
        username: credential.username,
        secret,
        tlsVerify: credential.tlsVerify,
      });
    } catch (error) {
      if (error instanceof RegistryAuthError) throw this.authFailed(credential, error);
      throw error;
    }
    await fs.promises.chmod(this.config.authFile, 0o600);
    this.logger.log(`registry ${credential.server}: logged in as ${credential.username}`);
  }

  private async readSecret(credential: RegistryCredentialConfig): Promise<string> {
    const file = secretFileOf(credential);
    if (!file) {
      throw new RegistryAuthError(`registry ${credential.server}: no password_file or token_file configured for user ${credential.username}`, {
        args: [],
        exitCode: null,
        stderr: '',
      });
    }
    let content: string;
    try {
      content = await fs.promises.readFile(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new RegistryAuthError(`registry ${credential.server}: cannot read credentials for user ${credential.username} from ${file} (${code})`, {
        args: [],
        exitCode: null,
        stderr: '',
      });
    }
    const secret = content.replace(/\r?\n$/, '');
    if (!secret) {
      throw new RegistryAuthError(`registry ${credential.server}: credential file ${file} for user ${credential.username} is empty`, {
        args: [],
        exitCode: null,
        stderr: '',
      });
    }
    return secret;
  }

  private authFailed(credential: RegistryCredentialConfig, cause: RegistryAuthError): RegistryAuthError {
    return new RegistryAuthError(
      `registry ${credential.server}: authentication failed for user ${credential.username} (credentials in ${secretFileOf(credential) ?? 'no file'})`,
      cause.details,
    );
  }
}

function secretFileOf(credential: RegistryCredentialConfig): string | undefined {
  return credential.passwordFile ?? credential.tokenFile;
}

/** The auth file's directory exists (created 0700) and the file, if present, is 0600. */
async function prepareAuthFile(authFile: string): Promise<void> {
  const dir = path.dirname(authFile);
  if (!fs.existsSync(dir)) await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
  if (fs.existsSync(authFile)) await fs.promises.chmod(authFile, 0o600);
}
