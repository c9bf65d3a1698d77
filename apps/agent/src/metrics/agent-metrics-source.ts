import { X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Injectable } from '@nestjs/common';
import { HealthStates } from '@mcp/deployer';
import type { MetricsSnapshot } from '@mcp/metrics';
import { MetricsSource } from '@mcp/metrics';
import { ServiceRegistry, SNAPSHOT_NAME } from '@mcp/registry';
import { containerNameFor, LiveContainers } from '@mcp/runtime';
import { AgentConfig } from '../config/agent-config';
import { isDrift } from '@mcp/common';

/**
 * The agent's state at scrape time: components' states from the registry (one narrow read,
 * no specs: bench P12) with the observed state
 * kept live from podman's events (the registry's last record while the stream is not open —
 * a scrape never makes a podman call), the certificates in mc-proxy's cert dir (parsed once
 * per file change), and the newest registry snapshot in the backup dir.
 */
@Injectable()
export class AgentMetricsSource extends MetricsSource {
  private readonly certificates = new Map<string, { mtimeMs: number; hostname: string; notAfter: Date } | null>();

  constructor(
    private readonly config: AgentConfig,
    private readonly registry: ServiceRegistry,
    private readonly live: LiveContainers,
    private readonly health: HealthStates,
  ) {
    super();
  }

  async snapshot(): Promise<MetricsSnapshot> {
    // From memory while it is current; else one listing (after the agent's own change, or
    // before the event stream's first listing), shared with any listing under way.
    const [states, certificates, lastBackup, containers] = await Promise.all([
      this.registry.listComponentStates(),
      this.readCertificates(),
      this.newestBackup(),
      this.live.current().catch(() => undefined),
    ]);
    const observedByName = containers ? new Map(containers.map((c) => [c.name, c.state])) : undefined;
    const components = states.map((component) => {
      const name = component.containerName || containerNameFor(component.service, component.name);
      const observed = observedByName ? (observedByName.get(name) ?? 'removed') : component.observedState || 'unknown';
      const health = this.health.status({ service: component.service, component: component.name });
      return {
        service: component.service,
        component: component.name,
        desired: component.desiredState,
        observed,
        drift: isDrift(component.desiredState, observed),
        ...(health === '-' ? {} : { health }),
      };
    });
    return { components, certificates, lastBackup };
  }

  private async readCertificates(): Promise<MetricsSnapshot['certificates']> {
    const dir = this.config.mcproxy.certDir;
    let names: string[];
    try {
      names = (await fs.readdir(dir)).filter((name) => name.endsWith('.pem'));
    } catch {
      return [];
    }
    const found: MetricsSnapshot['certificates'] = [];
    for (const name of names) {
      const file = path.join(dir, name);
      try {
        const { mtimeMs } = await fs.stat(file);
        let known = this.certificates.get(file);
        if (known === undefined || (known !== null && known.mtimeMs !== mtimeMs)) {
          const cert = new X509Certificate(await fs.readFile(file));
          const dns = cert.subjectAltName?.split(',').map((entry) => entry.trim()).find((entry) => entry.startsWith('DNS:'));
          known = { mtimeMs, hostname: dns ? dns.slice(4) : name.replace(/\.pem$/, ''), notAfter: new Date(cert.validTo) };
          this.certificates.set(file, known);
        }
        if (known) found.push({ hostname: known.hostname, notAfter: known.notAfter });
      } catch {
        // not a certificate (or gone): nothing to report for it
        this.certificates.set(file, null);
      }
    }
    return found;
  }

  private async newestBackup(): Promise<Date | undefined> {
    let newest: Date | undefined;
    try {
      for (const entry of await fs.readdir(this.config.agent.backupDir, { withFileTypes: true })) {
        if (!entry.isFile() || !SNAPSHOT_NAME.test(entry.name)) continue;
        const { mtime } = await fs.stat(path.join(this.config.agent.backupDir, entry.name));
        if (!newest || mtime > newest) newest = mtime;
      }
    } catch {
      return undefined;
    }
    return newest;
  }
}
