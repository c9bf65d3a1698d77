export * from './test-config';
export * from './tls-fixture';
export * from './agent-client';
export * from './agent-process';
export * from './in-process-agent';
export * from './unit-module';
export * from './rootless';
export * from './e2e-helpers';
