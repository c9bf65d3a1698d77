import { Clock } from '@mcp/common';
import { Caller, IdentityClient, TokenValidation } from './identity-client';
import { hashToken } from './token-hash';

export interface CachingIdentityClientOptions {
  inner: IdentityClient;
  clock: Clock;
  /** How long a valid answer is reused; default 30 s (SPEC §6). */
  ttlMs?: number;
  /** Bound on cached tokens; the oldest entry is dropped first. Default 10 000. */
  maxEntries?: number;
}

export const DEFAULT_VALIDATION_CACHE_TTL_MS = 30_000;

interface CacheEntry {
  caller: Caller;
  /** Epoch ms after which the entry must be re-validated. */
  until: number;
}

/**
 * Caches positive validations, keyed by the SHA-256 of the token (the token itself is never
 * kept). Negative answers and unavailability are not cached: an outage must not outlive
 * itself, and a freshly issued token must not be stuck as "invalid". A cached caller whose
 * token expiry has passed is rejected without asking again.
 */
export class CachingIdentityClient extends IdentityClient {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;

  constructor(private readonly options: CachingIdentityClientOptions) {
    super();
    this.ttlMs = options.ttlMs ?? DEFAULT_VALIDATION_CACHE_TTL_MS;
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  override async validate(token: string): Promise<TokenValidation> {
    const key = hashToken(token);
    const now = this.options.clock.now().getTime();
    const cached = this.cache.get(key);
    if (cached) {
      if (isExpired(cached.caller, now)) {
        this.cache.delete(key);
        return { valid: false, reason: 'token expired' };
      }
      if (now < cached.until) return { valid: true, caller: copy(cached.caller) };
      this.cache.delete(key);
    }
    const result = await this.options.inner.validate(token);
    if (!result.valid) return result;
    const after = this.options.clock.now().getTime();
    if (isExpired(result.caller, after)) return { valid: false, reason: 'token expired' };
    this.store(key, result.caller, after);
    return { valid: true, caller: copy(result.caller) };
  }

  /** Drops every cached answer (e.g. after a token rotation). */
  clear(): void {
    this.cache.clear();
  }

  /** Number of cached tokens (for tests and metrics). */
  get size(): number {
    return this.cache.size;
  }

  private store(key: string, caller: Caller, now: number): void {
    let until = now + this.ttlMs;
    if (caller.expiresAt) until = Math.min(until, caller.expiresAt.getTime());
    this.cache.delete(key);
    while (this.cache.size >= this.maxEntries) {
      const oldest = this.cache.keys().next();
      if (oldest.done) break;
      this.cache.delete(oldest.value);
    }
    this.cache.set(key, { caller: copy(caller), until });
  }
}

function isExpired(caller: Caller, now: number): boolean {
  return caller.expiresAt !== undefined && caller.expiresAt.getTime() <= now;
}

function copy(caller: Caller): Caller {
  const result: Caller = { subject: caller.subject, username: caller.username, roles: [...caller.roles] };
  if (caller.expiresAt) result.expiresAt = new Date(caller.expiresAt.getTime());
  return result;
}
