import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { CertificateRenewalService } from './certificate-renewal.service';

/** SPEC §6: checked daily. */
export const CERTIFICATE_RENEWAL_INTERVAL_MS = 24 * 60 * 60 * 1000;

/** Triggers the renewal check daily (when ACME is configured) with a plain timer; checks never overlap. */
@Injectable()
export class CertificateRenewalScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(CertificateRenewalScheduler.name);
  private running = false;
  private timer?: NodeJS.Timeout;

  constructor(private readonly renewals: CertificateRenewalService) {}

  onApplicationBootstrap(): void {
    if (!this.renewals.enabled) return;
    this.timer = setInterval(() => void this.tick(), CERTIFICATE_RENEWAL_INTERVAL_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
    this.timer = undefined;
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
