import * as fs from 'node:fs';
import * as path from 'node:path';
import { status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { IdentityClient } from '@mcp/auth';
import { RouteRegistrar } from '@mcp/mcproxy';
import { toTimestamp, type mcpv1 } from '@mcp/proto';
import { ServiceRegistry } from '@mcp/registry';
import { ContainerRuntime } from '@mcp/runtime';
import { FakeIdentity, FakeRegistrar, FakeRuntime, InMemoryRegistry } from '../../../../test/fakes';
import { agentClient, makeTestConfig, makeTlsFixture, startInProcessAgent, type AgentTestClient, type InProcessAgent } from '../../../../test/support';
import { DEFAULT_EVENT_COUNT, EventsService } from './events.service';

const TOKEN = 'events-admin-token';

/** Collects the stream's events until it ends (or `count` arrived, then cancels). */
function collect(stream: ClientReadableStream<mcpv1.EventsResponse>, count?: number): Promise<mcpv1.EventsResponse[]> {
  return new Promise((resolve, reject) => {
    const seen: mcpv1.EventsResponse[] = [];
    stream.on('data', (message: mcpv1.EventsResponse) => {
      seen.push(message);
      if (count !== undefined && seen.length === count) {
        stream.cancel();
        resolve(seen);
      }
    });
    stream.on('error', (error: ServiceError) => (error.code === status.CANCELLED ? resolve(seen) : reject(error)));
    stream.on('end', () => resolve(seen));
  });
}

describe(EventsService.name, () => {
  let agent: InProcessAgent;
  let client: AgentTestClient;
  let registry: InMemoryRegistry;
  let dir: string;

  beforeAll(async () => {
    const config = makeTestConfig();
    dir = path.dirname(config.file);
    const tls = await makeTlsFixture(path.join(dir, 'tls'));
    registry = new InMemoryRegistry();
    agent = await startInProcessAgent({
      config,
      overrides: [
        { provide: IdentityClient, useValue: new FakeIdentity().withToken(TOKEN, { username: 'admin', roles: ['admin'] }) },
        { provide: ServiceRegistry, useValue: registry },
        { provide: ContainerRuntime, useValue: new FakeRuntime() },
        { provide: RouteRegistrar, useValue: new FakeRegistrar() },
      ],
    });
    client = agentClient({ address: agent.address, caCertPath: tls.caCertPath, token: TOKEN });
    for (let i = 1; i <= DEFAULT_EVENT_COUNT + 5; i++) {
      await registry.addEvent({ service: i % 2 ? 'web' : 'db', component: '', kind: 'note', message: `${i}`, time: new Date(Date.UTC(2026, 10, 1, 0, i)) });
    }
  });

  afterAll(async () => {
    client?.close();
    await agent?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const request = (extra: Partial<mcpv1.EventsRequest> = {}): mcpv1.EventsRequest => ({ service: '', since: undefined, follow: false, limit: 0, ...extra });

  it('should send the most recent events, oldest first, and end without follow', async () => {
    const events = await collect(client.raw.events(request(), client.metadata()));
    expect(events).toHaveLength(DEFAULT_EVENT_COUNT);
    expect(events.at(-1)?.event?.message).toBe(`${DEFAULT_EVENT_COUNT + 5}`);
    expect(events.map((e) => e.id)).toEqual([...events.map((e) => e.id)].sort((a, b) => a - b));
  });

  it('should filter by service and since', async () => {
    const events = await collect(client.raw.events(request({ service: 'db', since: toTimestamp(new Date(Date.UTC(2026, 10, 1, 0, 50))) }), client.metadata()));
    expect(events.map((e) => e.event?.message)).toEqual(['50', '52', '54']);
    expect(events.every((e) => e.event?.service === 'db')).toBe(true);
  });

  it('should follow: history first, then each new event of the service as it is recorded', async () => {
    const stream = client.raw.events(request({ service: 'web', limit: 1, follow: true }), client.metadata());
    const done = collect(stream, 3);
    // Wait until the history arrived, so the next events are new ones.
    await new Promise<void>((resolve) => stream.once('data', () => resolve()));
    await registry.addEvent({ service: 'db', component: '', kind: 'note', message: 'not for web' });
    await registry.addEvent({ service: 'web', component: 'web', kind: 'drift', message: 'live 1' });
    await registry.addEvent({ service: 'web', component: 'web', kind: 'recovered', message: 'live 2' });
    const events = await done;
    expect(events.map((e) => e.event?.message)).toEqual([`${DEFAULT_EVENT_COUNT + 5}`, 'live 1', 'live 2']);
  });

  it('should follow from now when there is no history, and stop listening once the client cancels', async () => {
    const stream = client.raw.events(request({ service: 'fresh', follow: true }), client.metadata());
    const done = collect(stream, 1);
    // The agent subscribes as the call starts; keep recording until the follower has one.
    let n = 0;
    const feeder = setInterval(() => void registry.addEvent({ service: 'fresh', component: '', kind: 'note', message: `f${++n}` }), 20);
    const events = await done;
    clearInterval(feeder);
    expect(events[0]?.event?.service).toBe('fresh');
    expect(events[0]?.event?.message).toMatch(/^f\d+$/);
  });
});
