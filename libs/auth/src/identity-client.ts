/**
 * Identity port: who holds this token, and with which roles. Adapters: MciasHttpClient
 * (SPEC §6) and StaticTokenIdentity (a file of SHA-256 token hashes). Both fail closed:
 * an unreachable identity service throws IdentityUnavailableError, never "valid".
 */
export interface Caller {
  subject: string;
  username: string;
  roles: string[];
  expiresAt?: Date;
}

export type TokenValidation = { valid: true; caller: Caller } | { valid: false; reason: string };

export abstract class IdentityClient {
  abstract validate(token: string): Promise<TokenValidation>;
}
