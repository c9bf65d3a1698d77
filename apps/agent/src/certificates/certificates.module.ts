import { Module, type DynamicModule } from '@nestjs/common';
import { CertificateRenewalScheduler } from './certificate-renewal.scheduler';
import { CertificateRenewalService } from './certificate-renewal.service';
import type { Platform } from '../platform.module';

/** Daily renewal of l7 certificates through ACME, alerting on failure or near expiry. No RPCs. */
@Module({
  providers: [CertificateRenewalService, CertificateRenewalScheduler],
})
export class CertificatesModule {
  /** With the platform modules its providers inject. */
  static register(platform: Platform): DynamicModule {
    return { module: CertificatesModule, imports: [platform.core, platform.registry, platform.alerts, ...platform.acme] };
  }
}
