import * as fs from 'node:fs';
import { Command, CommandRunner, Option } from 'nest-commander';
import { IdentityLogin, TotpNeeded } from '../auth/identity-login';
import { TokenStore } from '../auth/token-store';
import { CliConfigService } from '../config/cli-config.service';
import { CommandFailedError, UsageError } from '../errors';
import { Output } from '../output/output';
import { Prompter } from '../prompt/prompter';

interface LoginOptions {
  username?: string;
  totp?: string;
  tokenFile?: string;
}

@Command({
  name: 'login',
  description:
    'log in at MCIAS and store the token (mode 0600). Reads the password from stdin when it is not a terminal; ' +
    '--token-file stores a static token instead',
})
export class LoginCommand extends CommandRunner {
  constructor(
    private readonly config: CliConfigService,
    private readonly tokens: TokenStore,
    private readonly identity: IdentityLogin,
    private readonly prompter: Prompter,
    private readonly output: Output,
  ) {
    super();
  }

  async run(_args: string[], options: LoginOptions = {}): Promise<void> {
    if (options.tokenFile) return this.storeStatic(options.tokenFile);
    const { mcias } = this.config.get();
    if (!mcias.serverUrl) {
      throw new CommandFailedError(`no MCIAS server: set [mcias] server_url in ${this.config.get().file} (or use --token-file)`);
    }
    const username = options.username || (await this.prompter.ask('Username: ')).trim();
    if (!username) throw new UsageError('a username is required (--username)');
    const password = await this.prompter.askSecret('Password: ');
    if (!password) throw new UsageError('a password is required');
    const input = { serverUrl: mcias.serverUrl, caCert: mcias.caCert, serviceName: mcias.serviceName, username, password };
    let result;
    try {
      result = await this.identity.login({ ...input, totpCode: options.totp });
    } catch (error) {
      if (!(error instanceof TotpNeeded) || options.totp) throw error;
      const totpCode = (await this.prompter.ask('TOTP code: ')).trim();
      if (!totpCode) throw new UsageError('a TOTP code is required (--totp)');
      result = await this.identity.login({ ...input, totpCode });
    }
    const file = await this.tokens.save(result.token);
    const until = result.expiresAt ? ` (expires ${result.expiresAt.toISOString()})` : '';
    this.output.info(`logged in as ${username}; token saved to ${file}${until}`);
  }

  private async storeStatic(source: string): Promise<void> {
    let token: string;
    try {
      token = fs.readFileSync(source, 'utf8').trim();
    } catch (error) {
      throw new CommandFailedError(`cannot read ${source}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    if (!token || /\s/.test(token)) throw new CommandFailedError(`${source} must hold exactly one token`);
    const file = await this.tokens.save(token);
    this.output.info(`token saved to ${file}`);
  }

  @Option({ flags: '-u, --username <name>', description: 'MCIAS username (prompted when absent)' })
  parseUsername(value: string): string {
    return value;
  }

  @Option({ flags: '--totp <code>', description: 'TOTP code, when your account needs one' })
  parseTotp(value: string): string {
    return value;
  }

  @Option({ flags: '--token-file <file>', description: 'store the token in FILE instead of logging in' })
  parseTokenFile(value: string): string {
    return value;
  }
}
