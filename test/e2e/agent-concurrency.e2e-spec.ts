import * as fs from 'node:fs';
import * as path from 'node:path';
import type { mcpv1 } from '@mcp/proto';
import { RouteRegistrar } from '@mcp/mcproxy';
import { ContainerRuntime } from '@mcp/runtime';
import { FakeRegistrar, FakeRuntime } from '../fakes';
import { agentClient, makeTestConfig, makeTlsFixture, startInProcessAgent, TEST_ADMIN_TOKEN, writeTestTokens, type AgentTestClient, type InProcessAgent } from '../support';

jest.setTimeout(120_000);

const IMAGE = 'localhost/mcp-test/busybox:1.0';
const COUNT = 50;

function spec(name: string): mcpv1.ServiceSpec {
  return {
    name,
    active: true,
    components: [
      {
        name,
        image: IMAGE,
        network: '',
        memory: '', cpus: 0, secrets: [], envSecrets: {}, dependsOn: [],
        user: '',
        restart: '',
        ports: [],
        volumes: [],
        cmd: [],
        env: [],
        routes: [
          { name: '', port: 443, mode: 'l4', hostname: '' },
          { name: 'admin', port: 9443, mode: 'l4', hostname: '' },
        ],
        // podman is a fake here, so nothing listens on the host ports the implicit check
        // would probe (SPEC §8): an exec check, which the fake answers with exit 0.
        health: { http: '', tcp: false, cmd: ['true'], route: '', port: 0, interval: '', timeout: '', startPeriod: '', healthy: 0 },
      },
    ],
  };
}

/** The real gRPC server, real SQLite registry and real host-port probing; only podman and mc-proxy are fakes. */
describe('concurrent deploys (in-process agent, real registry)', () => {
  const config = makeTestConfig();
  const dir = path.dirname(config.file);
  let agent: InProcessAgent;
  let client: AgentTestClient;
  const runtime = new FakeRuntime({ images: [IMAGE] });
  const proxy = new FakeRegistrar();

  beforeAll(async () => {
    const tls = await makeTlsFixture(path.join(dir, 'tls'));
    await writeTestTokens(config);
    agent = await startInProcessAgent({
      config,
      overrides: [
        { provide: ContainerRuntime, useValue: runtime },
        { provide: RouteRegistrar, useValue: proxy },
      ],
    });
    client = agentClient({ address: agent.address, caCertPath: tls.caCertPath, token: TEST_ADMIN_TOKEN });
  });

  afterAll(async () => {
    client?.close();
    await agent?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it(`should give ${COUNT} concurrent deploys of distinct services distinct host ports`, async () => {
    const names = Array.from({ length: COUNT }, (_, i) => `svc-${i}`);
    const results = await Promise.all(names.map((name) => client.call('deploy', { service: spec(name), component: '', force: false })));
    expect(results.flatMap((r) => r.results.filter((c) => !c.ok))).toEqual([]);

    const list = await client.call('listServices', {});
    const ports = list.services.flatMap((s) => s.components.flatMap((c) => c.routes.map((r) => r.hostPort)));
    expect(ports).toHaveLength(COUNT * 2);
    expect(new Set(ports).size).toBe(COUNT * 2);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(config.agent.portRangeStart);
      expect(port).toBeLessThanOrEqual(config.agent.portRangeEnd);
    }

    const published = runtime.callsTo('run').flatMap((c) => c.args.ports as string[]);
    expect(new Set(published).size).toBe(COUNT * 2);
    const backends = proxy.routes().map((r) => r.backend);
    expect(new Set(backends).size).toBe(COUNT * 2);
  });

  it('should audit each RPC with method, caller, service and outcome', async () => {
    agent.lines.length = 0;
    await client.call('getServiceStatus', { service: 'svc-1', eventLimit: 0 });
    expect(agent.lines.filter((l) => l.msg === 'rpc')).toEqual([
      expect.objectContaining({ method: 'GetServiceStatus', caller: 'test-admin', service: 'svc-1', code: 'OK', duration_ms: expect.any(Number) }),
    ]);
    expect(JSON.stringify(agent.lines)).not.toContain(TEST_ADMIN_TOKEN);
  });
});
