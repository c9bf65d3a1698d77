import { UnauthenticatedError } from '@mcp/common';
import { IdentityLogin, LoginInput, LoginResult, TotpNeeded } from '../../../apps/cli/src/auth/identity-login';

/** MCIAS stand-in: one account, optionally with a TOTP code. */
export class FakeIdentityLogin extends IdentityLogin {
  readonly attempts: LoginInput[] = [];

  constructor(private readonly account: { username: string; password: string; totp?: string; token: string }) {
    super();
  }

  async login(input: LoginInput): Promise<LoginResult> {
    this.attempts.push(input);
    if (input.username !== this.account.username || input.password !== this.account.password) {
      throw new UnauthenticatedError('invalid username or password');
    }
    if (this.account.totp && !input.totpCode) throw new TotpNeeded();
    if (this.account.totp && input.totpCode !== this.account.totp) throw new UnauthenticatedError('invalid TOTP code');
    return { token: this.account.token, expiresAt: new Date('2030-01-01T00:00:00Z') };
  }
}
