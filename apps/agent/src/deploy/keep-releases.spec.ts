import * as fs from 'node:fs';
import * as path from 'node:path';
import { Test } from '@nestjs/testing';
import { Failpoints, type ComponentSpec, type ServiceSpec } from '@mcp/common';
import { AlertSender } from '@mcp/alerts';
import { HostPortProbe, deployerProviders } from '@mcp/deployer';
import { RouteRegistrar } from '@mcp/mcproxy';
import { AgentMetrics } from '@mcp/metrics';
import { ServiceRegistry } from '@mcp/registry';
import { ContainerRuntime } from '@mcp/runtime';
import { FakeRegistrar, FakeRuntime, InMemoryRegistry, RecordingAlertSender, RecordingMetrics } from '../../../../test/fakes';
import { makeTestConfig } from '../../../../test/support';
import { AgentConfig } from '../config/agent-config';
import { DeployService } from './deploy.service';

const IMAGE = 'localhost/mcp-test/busybox:1.0';

class AlwaysFreeProbe extends HostPortProbe {
  async isFree(): Promise<boolean> {
    return true;
  }
}

function component(name: string, extra: Partial<ComponentSpec> = {}): ComponentSpec {
  return { name, image: IMAGE, ports: [], volumes: [], cmd: [], env: [], routes: [], ...extra };
}

function service(name: string, components: ComponentSpec[], active = true): ServiceSpec {
  return { name, node: 'test-node', active, components };
}

describe('keep_releases (SPEC §8): images MCP pulled and no kept release uses are removed after a deploy', () => {
  let sut: DeployService;
  let registry: InMemoryRegistry;
  let runtime: FakeRuntime;
  let config: AgentConfig;
  const pulledImage = (n: number) => `mcr.example.net/shop/web:${n}.0`;

  beforeEach(async () => {
    config = makeTestConfig();
    registry = new InMemoryRegistry();
    runtime = new FakeRuntime({ images: [IMAGE] });
    const moduleRef = await Test.createTestingModule({
      providers: [
        ...deployerProviders({
          bindAddress: '127.0.0.1',
          routeBindAddress: '127.0.0.1',
          routeDomain: config.agent.routeDomain,
          portRangeStart: 20000,
          portRangeEnd: 20999,
          certDir: config.mcproxy.certDir,
          stopTimeoutSeconds: 1,
          keepReleases: 2,
        }),
        DeployService,
        { provide: AgentConfig, useValue: config },
        { provide: ServiceRegistry, useValue: registry },
        { provide: ContainerRuntime, useValue: runtime },
        { provide: RouteRegistrar, useValue: new FakeRegistrar() },
        { provide: AlertSender, useValue: new RecordingAlertSender() },
        { provide: Failpoints, useValue: new Failpoints() },
        { provide: AgentMetrics, useValue: new RecordingMetrics() },
      ],
    })
      .overrideProvider(HostPortProbe)
      .useValue(new AlwaysFreeProbe())
      .compile();
    sut = moduleRef.get(DeployService);
  });

  afterEach(() => fs.rmSync(path.dirname(config.file), { recursive: true, force: true }));

  async function deploy(name: string, image: string): Promise<void> {
    const result = await sut.deploy({ spec: service(name, [component('web', { image })]), force: false });
    expect(result.results.map((r) => [r.ok, r.error])).toEqual([[true, '']]);
  }

  it('should keep the images of the last N succeeded releases and remove older ones MCP pulled, never one it did not pull', async () => {
    await deploy('shop', IMAGE);
    for (const n of [1, 2, 3]) await deploy('shop', pulledImage(n));

    expect(runtime.hasImage(pulledImage(1))).toBe(false);
    expect([2, 3].map((n) => runtime.hasImage(pulledImage(n)))).toEqual([true, true]);
    // Present before MCP deployed it (not pulled): never removed, though out of the window.
    expect(runtime.hasImage(IMAGE)).toBe(true);
    expect(runtime.callsTo('removeImage').map((c) => c.args.image)).toEqual([pulledImage(1)]);
    const events = await registry.listEvents({ service: 'shop', limit: 50 });
    expect(events.filter((e) => e.kind === 'image_removed').map((e) => e.message)).toEqual([expect.stringMatching(/^removed mcr\.example\.net\/shop\/web:1\.0 \(sha256:[0-9a-f]+\): older than the last 2 succeeded releases/)]);
  });

  it('should keep an image another service still keeps, and remove nothing after a deploy that changed nothing', async () => {
    await deploy('shop', pulledImage(1));
    await deploy('mall', pulledImage(1));
    for (const n of [2, 3, 4]) await deploy('shop', pulledImage(n));
    expect(runtime.hasImage(pulledImage(1))).toBe(true);
    expect(runtime.hasImage(pulledImage(2))).toBe(false);

    const removals = runtime.callsTo('removeImage').length;
    await deploy('shop', pulledImage(4));
    expect(runtime.callsTo('removeImage')).toHaveLength(removals);
  });

  it('should leave an image a container still uses, and say so in the log only (the deploy succeeds)', async () => {
    await deploy('shop', pulledImage(1));
    runtime.seedContainer({ name: 'by-hand', image: pulledImage(1) });
    for (const n of [2, 3]) await deploy('shop', pulledImage(n));
    expect(runtime.hasImage(pulledImage(1))).toBe(true);
    expect(runtime.callsTo('removeImage').map((c) => c.args.image)).toEqual([pulledImage(1)]);
  });
});
