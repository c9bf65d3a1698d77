import { type DynamicModule, Module, type ModuleMetadata, type Type } from '@nestjs/common';
import { AgentMetrics, MetricsSource } from './agent-metrics';
import { MetricsServer } from './metrics-server';
import { NoopAgentMetrics, PromAgentMetrics } from './prom-agent-metrics';

export interface MetricsModuleOptions {
  /** `host:port` to serve `/metrics` on; '' records and serves nothing. */
  listen: string;
  /** The agent's implementation of the state port. */
  source: Type<MetricsSource>;
  /** The modules that provide the source's dependencies. */
  imports?: ModuleMetadata['imports'];
}

/**
 * Binds AgentMetrics to prom-client and starts the listener, or to a no-op when `listen` is
 * empty. Exports only the AgentMetrics port.
 */
@Module({})
export class MetricsModule {
  static forRoot(options: MetricsModuleOptions): DynamicModule {
    if (!options.listen) {
      return { module: MetricsModule, providers: [{ provide: AgentMetrics, useClass: NoopAgentMetrics }], exports: [AgentMetrics] };
    }
    return {
      module: MetricsModule,
      imports: options.imports ?? [],
      providers: [
        { provide: MetricsSource, useClass: options.source },
        { provide: PromAgentMetrics, inject: [MetricsSource], useFactory: (source: MetricsSource) => new PromAgentMetrics(source) },
        { provide: AgentMetrics, useExisting: PromAgentMetrics },
        { provide: MetricsServer, inject: [PromAgentMetrics], useFactory: (metrics: PromAgentMetrics) => new MetricsServer(metrics, options.listen) },
      ],
      exports: [AgentMetrics],
    };
  }
}
