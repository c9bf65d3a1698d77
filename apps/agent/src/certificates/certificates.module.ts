import { Module } from '@nestjs/common';
import { AlertsModule } from '@mcp/alerts';
import { AgentConfig } from '../config/agent-config';
import { CertificateRenewalScheduler } from './certificate-renewal.scheduler';
import { CertificateRenewalService } from './certificate-renewal.service';

/** Daily renewal of l7 certificates through ACME, alerting on failure. No RPCs. */
@Module({
  imports: [
    AlertsModule.forRootAsync({
      inject: [AgentConfig],
      useFactory: (config: AgentConfig) => ({
        command: config.monitor.alertCommand,
        timeoutMs: config.monitor.alertTimeoutMs,
        baseEnv: process.env,
      }),
    }),
  ],
  providers: [CertificateRenewalService, CertificateRenewalScheduler],
})
export class CertificatesModule {}
