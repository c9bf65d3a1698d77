import type { DynamicModule, Provider } from '@nestjs/common';
// Deep imports: @nestjs/common's index costs `mcp ps` ~20 ms (bench P2); the CLI loads this lib for token files.
import 'reflect-metadata'; // what @nestjs/common's index would have loaded first
import { Module } from '@nestjs/common/decorators/modules/module.decorator';
import { Clock, ConfigError, SystemClock, ValidationIssue } from '@mcp/common';
import { CachingIdentityClient } from './caching-identity.client';
import { IdentityClient } from './identity-client';
import { MciasHttpClient, MciasHttpClientOptions } from './mcias-http.client';
import { StaticTokenIdentity } from './static-token.identity';
import { TokenAuthenticator } from './token-authenticator';

export interface AuthModuleOptions {
  mode: 'mcias' | 'static';
  mcias?: MciasHttpClientOptions;
  tokensFile?: string;
  allowedRoles: string[];
  /** Validation cache lifetime for MCIAS answers; default 30 s. */
  cacheTtlMs?: number;
}

/**
 * Binds the IdentityClient port and the TokenAuthenticator. In `mcias` mode the port is the
 * HTTPS client behind a 30 s cache; in `static` mode it is the tokens file, not cached: a
 * check is a stat of the file, and caching would delay a revocation by rewriting it.
 * Clock is provided here (SystemClock) so tests can swap it with overrideProvider(Clock).
 */
@Module({})
export class AuthModule {
  static forRoot(options: AuthModuleOptions): DynamicModule {
    checkOptions(options);
    const identity: Provider =
      options.mode === 'mcias'
        ? {
            provide: IdentityClient,
            inject: [Clock],
            useFactory: (clock: Clock): IdentityClient =>
              new CachingIdentityClient({
                inner: new MciasHttpClient(options.mcias as MciasHttpClientOptions),
                clock,
                ttlMs: options.cacheTtlMs,
              }),
          }
        : {
            provide: IdentityClient,
            inject: [Clock],
            useFactory: async (clock: Clock): Promise<IdentityClient> => {
              const client = new StaticTokenIdentity({ tokensFile: options.tokensFile as string, clock });
              await client.load();
              return client;
            },
          };
    return {
      module: AuthModule,
      providers: [
        { provide: Clock, useClass: SystemClock },
        identity,
        {
          provide: TokenAuthenticator,
          inject: [IdentityClient, Clock],
          useFactory: (client: IdentityClient, clock: Clock) =>
            new TokenAuthenticator({ identity: client, allowedRoles: options.allowedRoles, clock }),
        },
      ],
      exports: [IdentityClient, TokenAuthenticator],
    };
  }
}

function checkOptions(options: AuthModuleOptions): void {
  const issues: ValidationIssue[] = [];
  if (options.mode === 'mcias') {
    if (!options.mcias?.serverUrl) issues.push({ path: 'mcias.server_url', reason: 'required when auth.mode is "mcias"' });
    if (options.mcias && !options.mcias.serviceName) {
      issues.push({ path: 'mcias.service_name', reason: 'required when auth.mode is "mcias"' });
    }
  } else if (options.mode === 'static') {
    if (!options.tokensFile) issues.push({ path: 'auth.tokens_file', reason: 'required when auth.mode is "static"' });
  } else {
    issues.push({ path: 'auth.mode', reason: 'must be "mcias" or "static"' });
  }
  if (issues.length > 0) throw new ConfigError(issues);
}
