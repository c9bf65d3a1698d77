/**
 * `@mcp/registry/testing`: for tests only. The contract suite every ServiceRegistry (the
 * SQLite adapter and the in-memory fake) must pass, its spec builder, and the adapter, which
 * the lib's index keeps private (production code gets the port from RegistryModule).
 */
export { serviceRegistryContract, componentSpec } from './service-registry.contract';
export { TypeormRegistry, type TypeormRegistryOptions } from '../typeorm-registry';
