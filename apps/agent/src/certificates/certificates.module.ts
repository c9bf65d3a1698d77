import { Module } from '@nestjs/common';
import { CertificateRenewalScheduler } from './certificate-renewal.scheduler';
import { CertificateRenewalService } from './certificate-renewal.service';

/** Daily renewal of l7 certificates through ACME, alerting on failure or near expiry. No RPCs. */
@Module({
  providers: [CertificateRenewalService, CertificateRenewalScheduler],
})
export class CertificatesModule {}
