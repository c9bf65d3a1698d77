import { type DynamicModule, Module, type ModuleMetadata, type Provider, type Type } from '@nestjs/common';
import { Clock, SystemClock } from '@mcp/common';
import { AcmeConfig, type AcmeConfigData } from './acme-config';
import { CertificateAuthority } from './certificate-authority';
import { CertificateManager } from './certificate-manager';
import { ChallengeResponder, NoopChallengeResponder } from './challenge-responder';

export interface AcmeModuleExtras {
  /** Publishes http-01 challenge responses; default: no-op. */
  challengeResponder?: Type<ChallengeResponder>;
}

export interface AcmeModuleAsyncOptions extends AcmeModuleExtras {
  imports?: ModuleMetadata['imports'];
  inject?: Array<abstract new (...args: never[]) => unknown>;
  useFactory: (...deps: never[]) => AcmeConfigData | Promise<AcmeConfigData>;
}

function shared(extras: AcmeModuleExtras): Provider[] {
  return [
    { provide: Clock, useClass: SystemClock },
    { provide: ChallengeResponder, useClass: extras.challengeResponder ?? NoopChallengeResponder },
    { provide: CertificateAuthority, useClass: CertificateManager },
  ];
}

/** Binds the CertificateAuthority port to the ACME adapter; exports only the port. */
@Module({})
export class AcmeModule {
  static forRoot(config: AcmeConfigData, extras: AcmeModuleExtras = {}): DynamicModule {
    return {
      module: AcmeModule,
      providers: [{ provide: AcmeConfig, useValue: new AcmeConfig(config) }, ...shared(extras)],
      exports: [CertificateAuthority],
    };
  }

  static forRootAsync(options: AcmeModuleAsyncOptions): DynamicModule {
    return {
      module: AcmeModule,
      imports: options.imports ?? [],
      providers: [
        {
          provide: AcmeConfig,
          inject: options.inject ?? [],
          useFactory: async (...deps: never[]) => new AcmeConfig(await options.useFactory(...deps)),
        },
        ...shared(options),
      ],
      exports: [CertificateAuthority],
    };
  }
}
