import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CertificateRenewalService } from './certificate-renewal.service';

export const CERTIFICATE_RENEWAL_INTERVAL_NAME = 'certificate-renewal';
/** SPEC §6: checked daily. */
export const CERTIFICATE_RENEWAL_INTERVAL_MS = 24 * 60 * 60 * 1000;

/** Triggers the renewal check daily (when ACME is configured); checks never overlap. */
@Injectable()
export class CertificateRenewalScheduler implements OnApplicationBootstrap {
  private readonly logger = new Logger(CertificateRenewalScheduler.name);
  private running = false;

  constructor(
    private readonly renewals: CertificateRenewalService,
    private readonly scheduler: SchedulerRegistry,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.renewals.enabled) return;
    const timer = setInterval(() => void this.tick(), CERTIFICATE_RENEWAL_INTERVAL_MS);
    timer.unref();
    this.scheduler.addInterval(CERTIFICATE_RENEWAL_INTERVAL_NAME, timer);
  }

  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.renewals.runOnce();
    } catch (err) {
      this.logger.error(`certificate renewal check failed: ${(err as Error).message}`);
    } finally {
      this.running = false;
    }
  }
}
