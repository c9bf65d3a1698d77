import { DynamicModule, Module, ModuleMetadata } from '@nestjs/common';
import { ContainerRuntime } from './container-runtime';
import { PodmanRuntime, PodmanRuntimeOptions } from './podman.runtime';

export interface RuntimeModuleAsyncOptions {
  imports?: ModuleMetadata['imports'];
  /** DI tokens whose values are passed to `useFactory`, in order. */
  inject?: Array<abstract new (...args: never[]) => unknown>;
  useFactory: (...deps: never[]) => PodmanRuntimeOptions | Promise<PodmanRuntimeOptions>;
}

/** Binds the ContainerRuntime port to podman; the adapter class itself stays private. */
@Module({})
export class RuntimeModule {
  static forRoot(options: PodmanRuntimeOptions = {}): DynamicModule {
    return {
      module: RuntimeModule,
      providers: [{ provide: ContainerRuntime, useFactory: () => new PodmanRuntime(options) }],
      exports: [ContainerRuntime],
    };
  }

  /** For options that come from other providers (e.g. the agent's stop timeout from AgentConfig). */
  static forRootAsync(options: RuntimeModuleAsyncOptions): DynamicModule {
    return {
      module: RuntimeModule,
      imports: options.imports ?? [],
      providers: [
        {
          provide: ContainerRuntime,
          inject: options.inject ?? [],
          useFactory: async (...deps: never[]) => new PodmanRuntime(await options.useFactory(...deps)),
        },
      ],
      exports: [ContainerRuntime],
    };
  }
}
