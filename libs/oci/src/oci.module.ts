import { type DynamicModule, Module } from '@nestjs/common';
import { OciConfig, type OciConfigData } from './oci-config';
import { RegistryAuth } from './registry-auth';
import { PodmanRegistryLogin, type PodmanRegistryLoginOptions, RegistryLogin } from './registry-login';

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
}
