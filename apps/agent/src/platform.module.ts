import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { Module, type DynamicModule } from '@nestjs/common';
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
import { ServiceGauges } from './metrics/service-gauges';

/** The agent's own shared providers: the logger, the clock and the failpoints. */
@Module({})
export class CoreModule {
  static forRoot(input: { config: AgentConfig; logger: JsonLogger }): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: JsonLogger, useValue: input.logger },
        { provide: Clock, useClass: SystemClock },
        // Test-only crash points; unarmed (a no-op) unless MCP_AGENT_FAILPOINTS was set at start.
        { provide: Failpoints, useValue: new Failpoints(input.config.failpoints) },
      ],
      exports: [JsonLogger, Clock, Failpoints],
    };
  }
}

/** The audit log (one line per RPC), apart from the core: it counts RPCs in the metrics, whose source needs the deployer, which needs the core. */
@Module({})
export class AuditModule {
  static forRoot(imports: { core: DynamicModule; metrics: DynamicModule }): DynamicModule {
    return { module: AuditModule, imports: [imports.core, imports.metrics], providers: [AuditLog], exports: [AuditLog] };
  }
}

/**
 * Each lib bound once, from the config: one module object per lib. A feature module imports
 * the objects of the libs it uses (`register(platform)`); Nest makes one instance per object,
 * so every feature shares one registry, one runtime, one deployer (one PortAllocator, one
 * per-service lock). Of the agent's modules only the configuration is global (ConfigModule's
 * `isGlobal`); @nestjs/schedule's SchedulerRegistry is global by its own module.
 */
export interface Platform {
  core: DynamicModule;
  audit: DynamicModule;
  registry: DynamicModule;
  runtime: DynamicModule;
  mcproxy: DynamicModule;
  metrics: DynamicModule;
  auth: DynamicModule;
  /** One alert sender for the monitor, the certificate check and whoever else alerts. */
  alerts: DynamicModule;
  oci: DynamicModule;
  restic: DynamicModule;
  /** AcmeModule when `[acme]` is configured, else nothing (its users take CertificateAuthority as optional). */
  acme: DynamicModule[];
  deployer: DynamicModule;
}

export function platformModules(input: { config: AgentConfig; logger: JsonLogger }): Platform {
  const { config } = input;
  const core = CoreModule.forRoot(input);
  const registry = RegistryModule.forRoot({ path: config.database.path });
  const runtime = RuntimeModule.forRoot({
    adapter: config.runtime.adapter,
    socketPath: config.runtime.socket,
    defaultStopTimeoutSeconds: config.agent.stopTimeoutSeconds,
    followEvents: true,
    env: config.env,
  });
  const mcproxy = McproxyModule.forRoot({ socket: config.mcproxy.socket });
  const oci = OciModule.forRoot({ authFile: config.registry.authFile, credentials: config.registry.credentials });
  const acme = config.acme
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
    : [];
  const deployer = DeployerModule.forRoot(
    {
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
    },
    [core, registry, runtime, mcproxy, oci, ...acme],
  );
  const metrics = MetricsModule.forRoot({ listen: config.metrics.listen, source: AgentMetricsSource, imports: [registry, runtime, deployer] });
  return {
    core,
    audit: AuditModule.forRoot({ core, metrics }),
    registry,
    runtime,
    mcproxy,
    metrics,
    auth: AuthModule.forRoot({
      mode: config.auth.mode,
      tokensFile: config.auth.tokensFile,
      allowedRoles: config.auth.allowedRoles,
      mcias: config.mcias.serverUrl
        ? { serverUrl: config.mcias.serverUrl, caCertPath: config.mcias.caCert, serviceName: config.mcias.serviceName, timeoutMs: config.mcias.timeoutMs }
        : undefined,
    }),
    alerts: AlertsModule.forRoot(alertsOptionsFromConfig(config)),
    oci,
    restic: ResticModule.forRoot({
      repository: config.backup.repository,
      passwordFile: config.backup.passwordFile,
      cacheDir: config.backup.cacheDir,
      sshOptions: config.backup.sshOptions,
      host: config.agent.nodeName,
      env: config.env,
    }),
    acme,
    deployer,
  };
}

/**
 * The platform as a whole: every lib module (so each is started and shut down even when no
 * feature injects it), and the app-wide guards (default deny), exception filter and audit
 * interceptor, which need the core, audit, auth and metrics modules; and the per-service gauges.
 */
@Module({})
export class PlatformModule {
  static forRoot(platform: Platform): DynamicModule {
    const { acme, ...single } = platform;
    return {
      module: PlatformModule,
      imports: [...Object.values(single), ...acme],
      providers: [
        // The per-service gauges (last backup, jobs' last success): seeded at start, dropped when a service goes.
        ServiceGauges,
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_GUARD, useClass: MalformedRequestGuard },
        { provide: APP_FILTER, useClass: GrpcExceptionFilter },
        { provide: APP_INTERCEPTOR, useClass: AuditInterceptor },
      ],
    };
  }
}
