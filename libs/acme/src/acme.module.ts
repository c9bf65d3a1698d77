import { type DynamicModule, Module, type Provider, type Type } from '@nestjs/common';
import { Clock, SystemClock } from '@mcp/common';
import { AcmeConfig, type AcmeConfigData } from './acme-config';
import { CertificateAuthority } from './certificate-authority';
import { CertificateManager } from './certificate-manager';
import { ChallengeResponder, NoopChallengeResponder } from './challenge-responder';

export interface AcmeModuleExtras {
  /** Publishes http-01 challenge responses; default: no-op. */
  challengeResponder?: Type<ChallengeResponder>;
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
}
