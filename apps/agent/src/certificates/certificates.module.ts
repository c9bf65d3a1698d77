import { Module } from '@nestjs/common';
import { AlertsModule } from '@mcp/alerts';
import { AgentConfig } from '../config/agent-config';
import { alertsOptionsFromConfig } from '../monitor/alert-options';
import { CertificateRenewalScheduler } from './certificate-renewal.scheduler';
import { CertificateRenewalService } from './certificate-renewal.service';

/** Daily renewal of l7 certificates through ACME, alerting on failure or near expiry. No RPCs. */
@Module({
  imports: [
    AlertsModule.forRootAsync({
      inject: [AgentConfig],
      useFactory: (config: AgentConfig) => alertsOptionsFromConfig(config),
    }),
  ],
  providers: [CertificateRenewalService, CertificateRenewalScheduler],
})
export class CertificatesModule {}
