export interface LoginInput {
  serverUrl: string;
  caCert?: string;
  serviceName: string;
  username: string;
  password: string;
  totpCode?: string;
}

export interface LoginResult {
  token: string;
  expiresAt?: Date;
}

/** MCIAS said the password is fine but a TOTP code is needed. */
export class TotpNeeded extends Error {
  constructor() {
    super('a TOTP code is required');
  }
}

/**
 * Port: logs in at MCIAS. The adapter wraps @mcp/auth's MciasHttpClient (lazily loaded);
 * it throws TotpNeeded when a code is required, UnauthenticatedError for bad credentials,
 * IdentityUnavailableError when MCIAS cannot be reached.
 */
export abstract class IdentityLogin {
  abstract login(input: LoginInput): Promise<LoginResult>;
}
