import {
  Clock,
  IdentityUnavailableError,
  McpError,
  PermissionDeniedError,
  UnauthenticatedError,
} from '@mcp/common';
import { Caller, IdentityClient } from './identity-client';

export interface TokenAuthenticatorOptions {
  identity: IdentityClient;
  /** Roles that may use the agent; default ["admin"]. `guest` is dropped even if listed. */
  allowedRoles: string[];
  clock: Clock;
}

export const DEFAULT_ALLOWED_ROLES: readonly string[] = ['admin'];
/** Never allowed to drive the agent, whatever the configuration says (SPEC §6). */
export const NEVER_ALLOWED_ROLES: readonly string[] = ['guest'];

const BEARER = /^Bearer +([^\s]+) *$/i;

/**
 * Turns an `authorization` value into a verified Caller, or a typed error:
 * UnauthenticatedError (missing/malformed/invalid/expired), PermissionDeniedError (valid
 * caller without an allowed role), IdentityUnavailableError (cannot check: fail closed).
 */
export class TokenAuthenticator {
  private readonly allowed: ReadonlySet<string>;

  constructor(private readonly options: TokenAuthenticatorOptions) {
    const configured = options.allowedRoles.length > 0 ? options.allowedRoles : DEFAULT_ALLOWED_ROLES;
    this.allowed = new Set(configured.filter((role) => !NEVER_ALLOWED_ROLES.includes(role)));
  }

  /** The effective allowed roles (configuration minus the never-allowed ones). */
  get allowedRoles(): string[] {
    return [...this.allowed];
  }

  async authenticate(authorizationHeader: string | undefined): Promise<Caller> {
    const token = this.extractToken(authorizationHeader);
    let result;
    try {
      result = await this.options.identity.validate(token);
    } catch (error) {
      if (error instanceof McpError) throw error;
      // An adapter bug must not turn into "allowed"; it is reported as the identity being down.
      throw new IdentityUnavailableError('identity service failed to validate the token', { cause: error });
    }
    if (!result.valid) throw new UnauthenticatedError(`invalid token: ${result.reason}`);
    const caller = result.caller;
    if (caller.expiresAt && caller.expiresAt.getTime() <= this.options.clock.now().getTime()) {
      throw new UnauthenticatedError('invalid token: token expired');
    }
    if (!caller.roles.some((role) => this.allowed.has(role))) {
      throw new PermissionDeniedError(
        `user "${caller.username}" lacks an allowed role (needs one of: ${[...this.allowed].join(', ') || 'none'})`,
      );
    }
    return caller;
  }

  private extractToken(header: string | undefined): string {
    if (header === undefined || header.trim() === '') throw new UnauthenticatedError('missing bearer token');
    const match = BEARER.exec(header.trim());
    if (!match || !match[1]) throw new UnauthenticatedError('malformed authorization header');
    return match[1];
  }
}
