// Every hand-written fake, in one import: `import { FakeRuntime, InMemoryRegistry } from '../../test/fakes'`.
export * from './in-memory-registry';
export * from './fake-runtime';
export * from './fake-identity';
export * from './fake-registrar';
export * from './fake-clock';
export * from './fake-metrics';
export * from './fake-network-probe';
export * from './recording-alert-sender';
