import { type DynamicModule, Module, type ModuleMetadata } from '@nestjs/common';
import { OciConfig, type OciConfigData } from './oci-config';
import { RegistryAuth } from './registry-auth';
import { PodmanRegistryLogin, type PodmanRegistryLoginOptions, RegistryLogin } from './registry-login';

export interface OciModuleAsyncOptions {
  imports?: ModuleMetadata['imports'];
  inject?: Array<abstract new (...args: never[]) => unknown>;
  useFactory: (...deps: never[]) => OciConfigData | Promise<OciConfigData>;
  podman?: PodmanRegistryLoginOptions;
}

/** Provides RegistryAuth (registry credentials for pulls), logging in through podman. */
@Module({})
export class OciModule {
  static forRoot(config: OciConfigData, podman: PodmanRegistryLoginOptions = {}): DynamicModule {
    return {
      module: OciModule,
      providers: [
        { provide: OciConfig, useValue: new OciConfig(config) },
        { provide: RegistryLogin, useFactory: () => new PodmanRegistryLogin(podman) },
        RegistryAuth,
      ],
      exports: [RegistryAuth],
    };
  }

  static forRootAsync(options: OciModuleAsyncOptions): DynamicModule {
    return {
      module: OciModule,
      imports: options.imports ?? [],
      providers: [
        {
          provide: OciConfig,
          inject: options.inject ?? [],
          useFactory: async (...deps: never[]) => new OciConfig(await options.useFactory(...deps)),
        },
        { provide: RegistryLogin, useFactory: () => new PodmanRegistryLogin(options.podman ?? {}) },
        RegistryAuth,
      ],
      exports: [RegistryAuth],
    };
  }
}
