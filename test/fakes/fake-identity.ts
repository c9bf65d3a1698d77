import { Caller, IdentityClient, TokenValidation } from '@mcp/auth';
import { IdentityUnavailableError } from '@mcp/common';

/**
 * In-memory IdentityClient: a token → caller map, plus a `down` switch that makes every
 * validation throw IdentityUnavailableError (as an unreachable MCIAS does). Unknown tokens
 * are invalid, like a real identity service says; `validatedTokens` records what was asked.
 *
 *   const identity = new FakeIdentity().withToken('t-admin', { username: 'alice', roles: ['admin'] });
 *   identity.down = true;
 */
export class FakeIdentity extends IdentityClient {
  down = false;
  readonly validatedTokens: string[] = [];
  private readonly callers = new Map<string, Caller>();

  withToken(token: string, caller: Partial<Caller> & { username: string; roles: string[] }): this {
    this.callers.set(token, { subject: caller.subject ?? caller.username, ...caller, roles: [...caller.roles] });
    return this;
  }

  revoke(token: string): void {
    if (!this.callers.delete(token)) throw new Error(`FakeIdentity.revoke: unknown token`);
  }

  override async validate(token: string): Promise<TokenValidation> {
    this.validatedTokens.push(token);
    if (this.down) throw new IdentityUnavailableError('fake identity service is down');
    const caller = this.callers.get(token);
    if (!caller) return { valid: false, reason: 'unknown token' };
    return { valid: true, caller: { ...caller, roles: [...caller.roles] } };
  }
}
