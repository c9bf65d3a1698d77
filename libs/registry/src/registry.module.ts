import { type DynamicModule, Module } from '@nestjs/common';
import { ServiceRegistry } from './service-registry';
import { TypeormRegistry, type TypeormRegistryOptions } from './typeorm-registry';

export type RegistryModuleOptions = TypeormRegistryOptions;

/**
 * Binds the ServiceRegistry port to a TypeormRegistry on the configured SQLite file and
 * exports only the port. Global, so feature modules inject ServiceRegistry without importing
 * this module; register it once in the application module. The database is closed at
 * application shutdown (TypeormRegistry implements OnApplicationShutdown), after every
 * OnModuleDestroy hook has had its last chance to write.
 */
@Module({})
export class RegistryModule {
  static forRoot(options: RegistryModuleOptions): DynamicModule {
    return {
      global: true,
      module: RegistryModule,
      providers: [{ provide: ServiceRegistry, useFactory: () => TypeormRegistry.open(options) }],
      exports: [ServiceRegistry],
    };
  }
}
