import { Test, type TestingModule } from '@nestjs/testing';
import type { Provider } from '@nestjs/common';
import { Clock, Failpoints } from '@mcp/common';
import { AlertSender } from '@mcp/alerts';
import { HostPortProbe, NetworkProbe, deployerProviders } from '@mcp/deployer';
import { RouteRegistrar } from '@mcp/mcproxy';
import { ServiceRegistry } from '@mcp/registry';
import { AgentMetrics } from '@mcp/metrics';
import { ContainerRuntime, LiveContainers } from '@mcp/runtime';
import { AgentConfig } from '../../apps/agent/src/config/agent-config';
import { FakeClock, FakeNetworkProbe, FakeRegistrar, FakeRuntime, InMemoryRegistry, RecordingAlertSender, RecordingMetrics } from '../fakes';
import { makeTestConfig } from './test-config';

/** A host where every port is free (unit tests must not depend on the machine's ports). */
export class AlwaysFreeProbe extends HostPortProbe {
  async isFree(): Promise<boolean> {
    return true;
  }
}

export interface FeatureHarness {
  moduleRef: TestingModule;
  config: AgentConfig;
  registry: InMemoryRegistry;
  runtime: FakeRuntime;
  proxy: FakeRegistrar;
  clock: FakeClock;
  metrics: RecordingMetrics;
  network: FakeNetworkProbe;
  alerts: RecordingAlertSender;
}

/**
 * A Nest testing module for one agent feature: the deployer lib's providers plus the given
 * feature providers, with every port bound to a fake (registry, runtime, mc-proxy, clock).
 */
export async function featureHarness(input: { providers: Provider[]; images?: string[] }): Promise<FeatureHarness> {
  const config = makeTestConfig();
  const clock = new FakeClock(new Date('2026-11-23T12:00:00Z'));
  const registry = new InMemoryRegistry({ clock });
  const runtime = new FakeRuntime({ images: input.images ?? ['localhost/mcp-test/busybox:1.0'], clock });
  const proxy = new FakeRegistrar();
  const metrics = new RecordingMetrics();
  const network = new FakeNetworkProbe();
  const alerts = new RecordingAlertSender();
  const moduleRef = await Test.createTestingModule({
    providers: [
      ...deployerProviders({
        bindAddress: config.agent.bindAddress,
        routeBindAddress: config.agent.routeBindAddress,
        routeDomain: config.agent.routeDomain,
        portRangeStart: config.agent.portRangeStart,
        portRangeEnd: config.agent.portRangeEnd,
        certDir: config.mcproxy.certDir,
        stopTimeoutSeconds: config.agent.stopTimeoutSeconds,
      }),
      ...input.providers,
      { provide: AgentConfig, useValue: config },
      { provide: ServiceRegistry, useValue: registry },
      { provide: ContainerRuntime, useValue: runtime },
      { provide: LiveContainers, useValue: new LiveContainers(runtime) },
      { provide: AgentMetrics, useValue: metrics },
      { provide: RouteRegistrar, useValue: proxy },
      { provide: Clock, useValue: clock },
      { provide: AlertSender, useValue: alerts },
      { provide: Failpoints, useValue: new Failpoints() },
    ],
  })
    .overrideProvider(HostPortProbe)
    .useValue(new AlwaysFreeProbe())
    .overrideProvider(NetworkProbe)
    .useValue(network)
    .compile();
  return { moduleRef, config, registry, runtime, proxy, clock, network, alerts, metrics };
}
