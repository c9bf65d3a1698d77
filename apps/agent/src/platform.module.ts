import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { Global, Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { AcmeModule } from '@mcp/acme';
import { AlertsModule } from '@mcp/alerts';
import { AuthModule } from '@mcp/auth';
import { Clock, Failpoints, SystemClock } from '@mcp/common';
import { DeployerModule } from '@mcp/deployer';
import { McproxyModule } from '@mcp/mcproxy';
import { MetricsModule } from '@mcp/metrics';
import { OciModule } from '@mcp/oci';
import { RegistryModule } from '@mcp/registry';
import { ResticModule } from '@mcp/restic';
import { RuntimeModule } from '@mcp/runtime';
import { AuthGuard } from './auth/auth.guard';
import { AgentConfig } from './config/agent-config';
import { alertsOptionsFromConfig } from './config/alert-options';
import { GrpcExceptionFilter } from './errors/grpc-exception.filter';
import { MalformedRequestGuard } from './errors/malformed-request';
import { AuditLog } from './logging/audit';
import { AuditInterceptor } from './logging/audit.interceptor';
import { JsonLogger } from './logging/json-logger';
import { AgentMetricsSource } from './metrics/agent-metrics-source';

/**
 * Everything the feature modules share, bound once and global: the logger, clock,
 * the ports (registry, runtime, mc-proxy, identity) and the deployer lib; plus the global
 * guard (default deny), exception filter and audit interceptor.
 */
@Global()
@Module({})
export class PlatformModule {
  static forRoot(input: { config: AgentConfig; logger: JsonLogger }): DynamicModule {
    const { config } = input;
    const libs = [
      RegistryModule.forRoot({ path: config.database.path }),
      RuntimeModule.forRoot({
        adapter: config.runtime.adapter,
        socketPath: config.runtime.socket,
        defaultStopTimeoutSeconds: config.agent.stopTimeoutSeconds,
        followEvents: true,
        env: config.env,
      }),
      McproxyModule.forRoot({ socket: config.mcproxy.socket }),
      MetricsModule.forRoot({ listen: config.metrics.listen, source: AgentMetricsSource }),
      AuthModule.forRoot({
        mode: config.auth.mode,
        tokensFile: config.auth.tokensFile,
        allowedRoles: config.auth.allowedRoles,
        mcias: config.mcias.serverUrl
          ? { serverUrl: config.mcias.serverUrl, caCertPath: config.mcias.caCert, serviceName: config.mcias.serviceName, timeoutMs: config.mcias.timeoutMs }
          : undefined,
      }),
      // One alert sender for the monitor, the certificate check and whoever else alerts.
      AlertsModule.forRoot(alertsOptionsFromConfig(config)),
      OciModule.forRoot({ authFile: config.registry.authFile, credentials: config.registry.credentials }),
      ResticModule.forRoot({
        repository: config.backup.repository,
        passwordFile: config.backup.passwordFile,
        cacheDir: config.backup.cacheDir,
        sshOptions: config.backup.sshOptions,
        host: config.agent.nodeName,
        env: config.env,
      }),
      ...(config.acme
        ? [
            AcmeModule.forRoot({
              directoryUrl: config.acme.directoryUrl,
              caCert: config.acme.caCert,
              accountKeyPath: config.acme.accountKey,
              email: config.acme.email,
              eabKid: config.acme.eabKid,
              eabHmac: config.acme.eabHmac,
              renewBeforeMs: config.acme.renewBeforeMs,
              certDir: config.mcproxy.certDir,
            }),
          ]
        : []),
    ];
    return {
      module: PlatformModule,
      imports: [
        ...libs,
        DeployerModule.forRoot({
          bindAddress: config.agent.bindAddress,
          srvRoot: config.agent.srvRoot,
          routeBindAddress: config.agent.routeBindAddress,
          routeDomain: config.agent.routeDomain,
          portRangeStart: config.agent.portRangeStart,
          portRangeEnd: config.agent.portRangeEnd,
          certDir: config.mcproxy.certDir,
          stopTimeoutSeconds: config.agent.stopTimeoutSeconds,
          keepReleases: config.agent.keepReleases,
          runOwner: createHash('sha256').update(path.resolve(config.database.path)).digest('hex').slice(0, 16),
        }),
      ],
      providers: [
        { provide: JsonLogger, useValue: input.logger },
        { provide: Clock, useClass: SystemClock },
        // Test-only crash points; unarmed (a no-op) unless MCP_AGENT_FAILPOINTS was set at start.
        { provide: Failpoints, useValue: new Failpoints(config.failpoints) },
        AuditLog,
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_GUARD, useClass: MalformedRequestGuard },
        { provide: APP_FILTER, useClass: GrpcExceptionFilter },
        { provide: APP_INTERCEPTOR, useClass: AuditInterceptor },
      ],
      exports: [...libs, JsonLogger, Clock, Failpoints, AuditLog],
    };
  }
}
