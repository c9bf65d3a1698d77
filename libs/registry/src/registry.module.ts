import { type DynamicModule, Module } from '@nestjs/common';
import { ServiceRegistry } from './service-registry';
import { TypeormRegistry, type TypeormRegistryOptions } from './typeorm-registry';

export type RegistryModuleOptions = TypeormRegistryOptions;

/**
 * Binds the ServiceRegistry port to a TypeormRegistry on the configured SQLite file and
 * exports only the port. Not global: each feature module that injects ServiceRegistry imports
 * the one module object the application made (Nest makes one instance per object). The database is closed at
 * application shutdown (TypeormRegistry implements OnApplicationShutdown), after every
 * OnModuleDestroy hook has had its last chance to write.
 */
@Module({})
export class RegistryModule {
  static forRoot(options: RegistryModuleOptions): DynamicModule {
    return {
      module: RegistryModule,
      providers: [{ provide: ServiceRegistry, useFactory: () => TypeormRegistry.open(options) }],
      exports: [ServiceRegistry],
    };
  }
}
