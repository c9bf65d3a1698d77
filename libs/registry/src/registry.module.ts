import { type DynamicModule, type FactoryProvider, type InjectionToken, Module, type ModuleMetadata, type OptionalFactoryDependency } from '@nestjs/common';
import { ServiceRegistry } from './service-registry';
import { TypeormRegistry, type TypeormRegistryOptions } from './typeorm-registry';

export type RegistryModuleOptions = TypeormRegistryOptions;

export interface RegistryModuleAsyncOptions {
  imports?: ModuleMetadata['imports'];
  inject?: Array<InjectionToken | OptionalFactoryDependency>;
  useFactory: (...args: never[]) => RegistryModuleOptions | Promise<RegistryModuleOptions>;
}

/** Options handed from forRootAsync's factory to the registry's factory. */
abstract class RegistryModuleOptionsToken {}

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
    return RegistryModule.forRootAsync({ useFactory: () => options });
  }

  static forRootAsync(options: RegistryModuleAsyncOptions): DynamicModule {
    const optionsProvider: FactoryProvider = {
      provide: RegistryModuleOptionsToken,
      useFactory: options.useFactory as (...args: unknown[]) => RegistryModuleOptions | Promise<RegistryModuleOptions>,
      inject: options.inject ?? [],
    };
    const registryProvider: FactoryProvider = {
      provide: ServiceRegistry,
      useFactory: (resolved: RegistryModuleOptions) => TypeormRegistry.open(resolved),
      inject: [RegistryModuleOptionsToken],
    };
    return {
      global: true,
      module: RegistryModule,
      imports: options.imports ?? [],
      providers: [optionsProvider, registryProvider],
      exports: [ServiceRegistry],
    };
  }
}
