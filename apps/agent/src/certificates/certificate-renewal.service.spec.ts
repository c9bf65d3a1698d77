import * as fs from 'node:fs';
import * as path from 'node:path';
import { Test } from '@nestjs/testing';
import { CertificateAuthority, type CertificateTarget, type EnsuredCertificate, type RenewalResult } from '@mcp/acme';
import { AlertSender, alertSenderFor, type Alert } from '@mcp/alerts';
import { Clock } from '@mcp/common';
import { ServiceRegistry } from '@mcp/registry';
import { FakeClock, InMemoryRegistry } from '../../../../test/fakes';
import { makeTestConfig } from '../../../../test/support';
import { WebhookReceiver } from '@mcp/alerts/testing';
import { AgentConfig } from '../config/agent-config';
import { alertsOptionsFromConfig } from '../config/alert-options';
import { CertificateRenewalService } from './certificate-renewal.service';

class RecordingAlerts extends AlertSender {
  readonly sent: Alert[] = [];
  async send(alert: Alert): Promise<void> {
    this.sent.push(alert);
  }
}

/** Strict: only checkRenewals is expected; answers are scripted per hostname. */
class ScriptedAuthority extends CertificateAuthority {
  readonly checked: CertificateTarget[][] = [];
  outcome: Record<string, Partial<RenewalResult>> = {};
  async ensureCertificate(): Promise<EnsuredCertificate> {
    throw new Error('unexpected ensureCertificate');
  }
  async checkRenewals(input: { targets: CertificateTarget[] }): Promise<RenewalResult[]> {
    this.checked.push(input.targets);
    return input.targets.map((t) => ({ ...t, action: 'ok', expiresSoon: false, ...this.outcome[t.hostname] }));
  }
}

const IMAGE = 'localhost/x:1';

describe(CertificateRenewalService.name, () => {
  let registry: InMemoryRegistry;
  let alerts: RecordingAlerts;
  let authority: ScriptedAuthority;
  let config: AgentConfig;

  async function build(withAuthority: boolean): Promise<CertificateRenewalService> {
    const moduleRef = await Test.createTestingModule({
      providers: [
        CertificateRenewalService,
        { provide: AgentConfig, useValue: config },
        { provide: ServiceRegistry, useValue: registry },
        { provide: AlertSender, useValue: alerts },
        { provide: Clock, useValue: new FakeClock() },
        ...(withAuthority ? [{ provide: CertificateAuthority, useValue: authority }] : []),
      ],
    }).compile();
    return moduleRef.get(CertificateRenewalService);
  }

  beforeEach(async () => {
    config = makeTestConfig();
    registry = new InMemoryRegistry();
    alerts = new RecordingAlerts();
    authority = new ScriptedAuthority();
    const spec = (name: string) => ({ name, image: IMAGE, ports: [], volumes: [], cmd: [], env: [], routes: [] });
    await registry.saveService({ name: 'web', active: true, components: [{ spec: spec('web'), desiredState: 'running' }, { spec: spec('api'), desiredState: 'running' }] });
    await registry.setRoutes({ service: 'web', component: 'web', routes: [{ name: '', port: 443, mode: 'l7', hostname: 'web.example.net', hostPort: 20001 }] });
    await registry.setRoutes({
      service: 'web',
      component: 'api',
      routes: [
        { name: 'a', port: 443, mode: 'l7', hostname: 'web.example.net', hostPort: 20002 },
        { name: 'b', port: 8443, mode: 'l4', hostname: 'raw.example.net', hostPort: 20003 },
      ],
    });
  });

  afterEach(() => fs.rmSync(path.dirname(config.file), { recursive: true, force: true }));

  describe('runOnce', () => {
    it('should check each l7 (service, hostname) once and skip l4 routes', async () => {
      const sut = await build(true);
      await sut.runOnce();
      expect(authority.checked).toEqual([[{ service: 'web', hostname: 'web.example.net' }]]);
      expect(alerts.sent).toEqual([]);
    });

    it('should record a renewal as an event', async () => {
      authority.outcome['web.example.net'] = { action: 'renewed', notAfter: new Date('2027-03-01T00:00:00Z') };
      const sut = await build(true);
      await sut.runOnce();
      expect((await registry.listEvents({ service: 'web' }))[0]).toMatchObject({ kind: 'certificate_renewed' });
    });

    it('should raise a certificate alert and record an event when renewal fails', async () => {
      authority.outcome['web.example.net'] = { action: 'failed', error: 'acme: connection refused', expiresSoon: true };
      const sut = await build(true);
      await sut.runOnce();
      expect(alerts.sent).toEqual([
        expect.objectContaining({ kind: 'certificate', node: 'test-node', service: 'web', observed: 'expiring', message: expect.stringContaining('connection refused') }),
      ]);
      expect((await registry.listEvents({ service: 'web' }))[0]).toMatchObject({ kind: 'certificate_renewal_failed' });
    });

    it('should alert when a certificate it did not renew expires within 7 days', async () => {
      authority.outcome['web.example.net'] = { action: 'ok', expiresSoon: true, notAfter: new Date('2026-11-28T00:00:00Z') };
      const sut = await build(true);
      await sut.runOnce();
      expect(alerts.sent).toEqual([expect.objectContaining({ kind: 'certificate', service: 'web', observed: 'expiring', message: expect.stringContaining('within 7 days') })]);
      expect((await registry.listEvents({ service: 'web' }))[0]).toMatchObject({ kind: 'certificate_expiring' });
    });

    it('should deliver a failed renewal to the alert webhook', async () => {
      const receiver = new WebhookReceiver();
      const url = await receiver.start();
      const webhookConfig = makeTestConfig({ env: {}, monitor: { alertWebhook: { url, format: 'json', timeoutMs: 5_000, attempts: 2 } } });
      try {
        const webhookAlerts = alertSenderFor(alertsOptionsFromConfig(webhookConfig));
        authority.outcome['web.example.net'] = { action: 'failed', error: 'acme: connection refused', expiresSoon: false };
        const moduleRef = await Test.createTestingModule({
          providers: [
            CertificateRenewalService,
            { provide: AgentConfig, useValue: webhookConfig },
            { provide: ServiceRegistry, useValue: registry },
            { provide: AlertSender, useValue: webhookAlerts },
            { provide: Clock, useValue: new FakeClock() },
            { provide: CertificateAuthority, useValue: authority },
          ],
        }).compile();

        await moduleRef.get(CertificateRenewalService).runOnce();

        expect(receiver.bodies()).toEqual([expect.objectContaining({ kind: 'certificate', service: 'web', desired: 'valid', observed: 'renewal_failed', message: expect.stringContaining('connection refused') })]);
      } finally {
        await receiver.close();
        fs.rmSync(path.dirname(webhookConfig.file), { recursive: true, force: true });
      }
    });

    it('should do nothing without an ACME authority', async () => {
      const sut = await build(false);
      expect(sut.enabled).toBe(false);
      await expect(sut.runOnce()).resolves.toEqual([]);
    });
  });
});
