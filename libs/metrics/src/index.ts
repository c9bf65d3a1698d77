export * from './agent-metrics';
export { MetricsModule, type MetricsModuleOptions } from './metrics.module';
