import { Injectable } from '@nestjs/common';
import { IdentityLogin, LoginInput, LoginResult, TotpNeeded } from './identity-login';

/** IdentityLogin through @mcp/auth's MciasHttpClient (HTTPS, TLS 1.3, the configured CA). */
@Injectable()
export class MciasLogin extends IdentityLogin {
  async login(input: LoginInput): Promise<LoginResult> {
    const { MciasHttpClient, TotpRequiredError } = await import('@mcp/auth');
    const client = new MciasHttpClient({ serverUrl: input.serverUrl, caCertPath: input.caCert, serviceName: input.serviceName });
    try {
      return await client.login({ username: input.username, password: input.password, totpCode: input.totpCode });
    } catch (error) {
      if (error instanceof TotpRequiredError) throw new TotpNeeded();
      throw error;
    }
  }
}
