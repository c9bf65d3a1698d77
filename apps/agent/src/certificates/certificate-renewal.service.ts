import { Injectable, Logger, Optional } from '@nestjs/common';
import { CertificateAuthority, type CertificateTarget, type RenewalResult } from '@mcp/acme';
import { AlertSender } from '@mcp/alerts';
import { Clock } from '@mcp/common';
import { ServiceRegistry } from '@mcp/registry';
import { AgentConfig } from '../config/agent-config';

/**
 * Renews l7 certificates before they expire (SPEC §6): every l7 route's (service, hostname)
 * is checked through the CertificateAuthority; a renewal records an event; a failure, or a
 * certificate left within 7 days of expiry, records an event and raises a `certificate` alert
 * (through the command and/or webhook senders). Without `[acme]` there is nothing to renew.
 */
@Injectable()
export class CertificateRenewalService {
  private readonly logger = new Logger(CertificateRenewalService.name);

  constructor(
    private readonly config: AgentConfig,
    private readonly registry: ServiceRegistry,
    private readonly alerts: AlertSender,
    private readonly clock: Clock,
    @Optional() private readonly authority?: CertificateAuthority,
  ) {}

  get enabled(): boolean {
    return this.authority !== undefined;
  }

  async runOnce(): Promise<RenewalResult[]> {
    if (!this.authority) return [];
    const targets = await this.targets();
    if (targets.length === 0) return [];
    const results = await this.authority.checkRenewals({ targets });
    for (const result of results) {
      if (result.action === 'renewed') {
        await this.registry.addEvent({ service: result.service, component: '', kind: 'certificate_renewed', message: `certificate for ${result.hostname} renewed (expires ${result.notAfter?.toISOString() ?? 'unknown'})` });
      } else if (result.action === 'failed') {
        const message = `certificate for ${result.hostname} could not be renewed: ${result.error ?? 'unknown error'}${result.notAfter ? ` (current one expires ${result.notAfter.toISOString()})` : ''}`;
        this.logger.warn(message);
        await this.registry.addEvent({ service: result.service, component: '', kind: 'certificate_renewal_failed', message });
        await this.alert({ service: result.service, observed: result.expiresSoon ? 'expiring' : 'renewal_failed', message });
      } else if (result.expiresSoon) {
        // Valid but inside 7 days and not renewed (a renewal window shorter than that).
        const message = `certificate for ${result.hostname} expires ${result.notAfter?.toISOString() ?? 'soon'}, within 7 days`;
        this.logger.warn(message);
        await this.registry.addEvent({ service: result.service, component: '', kind: 'certificate_expiring', message });
        await this.alert({ service: result.service, observed: 'expiring', message });
      }
    }
    return results;
  }

  private async alert(input: { service: string; observed: string; message: string }): Promise<void> {
    await this.alerts.send({
      kind: 'certificate',
      node: this.config.agent.nodeName,
      service: input.service,
      component: '',
      desired: 'valid',
      observed: input.observed,
      message: input.message,
      time: this.clock.now(),
    });
  }

  /** One target per (service, l7 hostname) of the registry's routes. */
  private async targets(): Promise<CertificateTarget[]> {
    const seen = new Set<string>();
    const targets: CertificateTarget[] = [];
    for (const service of await this.registry.listServices()) {
      for (const component of service.components) {
        for (const route of component.routes) {
          const key = `${service.name}\n${route.hostname}`;
          if (route.mode !== 'l7' || seen.has(key)) continue;
          seen.add(key);
          targets.push({ service: service.name, hostname: route.hostname });
        }
      }
    }
    return targets;
  }
}
