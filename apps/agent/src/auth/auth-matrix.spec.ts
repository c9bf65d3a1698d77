import * as fs from 'node:fs';
import * as path from 'node:path';
import { status, type Metadata, type ServiceError } from '@grpc/grpc-js';
import { IdentityClient } from '@mcp/auth';
import { RouteRegistrar } from '@mcp/mcproxy';
import { ServiceRegistry } from '@mcp/registry';
import { ContainerRuntime } from '@mcp/runtime';
import { FakeIdentity, FakeRegistrar, FakeRuntime, InMemoryRegistry } from '../../../../test/fakes';
import {
  agentClient,
  makeTestConfig,
  makeTlsFixture,
  startInProcessAgent,
  UNARY_METHODS,
  type AgentTestClient,
  type InProcessAgent,
  type UnaryMethod,
} from '../../../../test/support';
import { AuthGuard } from './auth.guard';

const ADMIN = 'matrix-admin-token';
const VIEWER = 'matrix-viewer-token';
const EXPIRED = 'matrix-expired-token';
const SPEC = { name: 'web', active: true, components: [{ name: 'web', image: 'localhost/mcp-test/busybox:1.0', network: '', memory: '', cpus: 0, secrets: [], envSecrets: {}, dependsOn: [], user: '', restart: '', ports: [], volumes: [], cmd: [], env: [], routes: [] }] };

/** A request for each RPC that would change or read something if it were let through. */
const REQUESTS: Record<UnaryMethod, object> = {
  deploy: { service: SPEC, component: '', force: true },
  undeployService: { service: 'web' },
  stopService: { service: 'web' },
  startService: { service: 'web' },
  restartService: { service: 'web' },
  syncDesiredState: { services: [SPEC], dryRun: false },
  listServices: {},
  getServiceStatus: { service: 'web', eventLimit: 0 },
  liveCheck: {},
  adoptContainers: { service: 'web' },
  purgeComponent: { service: '', component: '', defined: [], dryRun: false },
  nodeStatus: {},
  setSecret: { service: 'web', name: 'token', value: Buffer.from('matrix-secret-value') },
  listSecrets: { service: 'web' },
  removeSecret: { service: 'web', name: 'token' },
  setCordon: { cordoned: true },
  listBackups: { service: 'web' },
  restoreService: { service: 'web', snapshot: '' },
  checkBackups: { service: 'web' },
  listJobs: { service: 'web', job: '' },
  listReleases: { service: 'web', component: '' },
  rollback: { service: 'web', component: '', to: 0 },
  planDeploy: { service: SPEC, component: '', force: false },
  imageBlobs: { digests: [], imageId: '' },
  rollbackAgent: {},
  listServiceFiles: { service: 'web', checksums: true },
  applyServiceTree: { service: 'moved', entries: [{ path: 'x', type: 'dir', mode: 0o755, size: 0, sha256: '', linkTarget: '', leavesServiceDir: false, uid: 0, gid: 0, mtimeMs: 0 }], finish: false },
  removeServiceData: { service: 'moved' },
  readSecretForMove: { service: 'web', name: 'token', toNode: 'elsewhere' },
};

type Case = { name: string; options: { token?: string | null; authorization?: string }; down?: boolean; code: status };
const CASES: Case[] = [
  { name: 'no token', options: { token: null }, code: status.UNAUTHENTICATED },
  { name: 'a malformed header', options: { authorization: `Token ${ADMIN}` }, code: status.UNAUTHENTICATED },
  { name: 'an unknown token', options: { token: 'never-issued' }, code: status.UNAUTHENTICATED },
  { name: 'an expired token', options: { token: EXPIRED }, code: status.UNAUTHENTICATED },
  { name: 'a token without an allowed role', options: { token: VIEWER }, code: status.PERMISSION_DENIED },
  { name: 'the identity service down', options: { token: ADMIN }, down: true, code: status.UNAVAILABLE },
];

describe(AuthGuard.name, () => {
  let agent: InProcessAgent;
  let client: AgentTestClient;
  let identity: FakeIdentity;
  let registry: InMemoryRegistry;
  let runtime: FakeRuntime;
  let dir: string;
  let srvRoot: string;

  beforeAll(async () => {
    const config = makeTestConfig();
    dir = path.dirname(config.file);
    srvRoot = config.agent.srvRoot;
    const tls = await makeTlsFixture(path.join(dir, 'tls'));
    identity = new FakeIdentity()
      .withToken(ADMIN, { username: 'admin', roles: ['admin'] })
      .withToken(VIEWER, { username: 'viewer', roles: ['viewer', 'guest'] })
      .withToken(EXPIRED, { username: 'late', roles: ['admin'], expiresAt: new Date(Date.now() - 60_000) });
    registry = new InMemoryRegistry();
    runtime = new FakeRuntime({ images: ['localhost/mcp-test/busybox:1.0'] });
    agent = await startInProcessAgent({
      config,
      overrides: [
        { provide: IdentityClient, useValue: identity },
        { provide: ServiceRegistry, useValue: registry },
        { provide: ContainerRuntime, useValue: runtime },
        { provide: RouteRegistrar, useValue: new FakeRegistrar() },
      ],
    });
    client = agentClient({ address: agent.address, caCertPath: tls.caCertPath, token: ADMIN });
    await client.call('deploy', { service: SPEC, component: '', force: false });
  });

  afterAll(async () => {
    client?.close();
    await agent?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  afterEach(() => {
    identity.down = false;
  });

  async function registryState(): Promise<string> {
    return JSON.stringify([await registry.listServices(), await registry.listEvents({})]);
  }

  const matrix = UNARY_METHODS.flatMap((method) => CASES.map((c) => [method, c.name, c] as const));

  it.each(matrix)('should refuse %s with %s, leaving the registry and runtime alone', async (method, _name, c) => {
    const before = await registryState();
    runtime.clearCalls();
    identity.down = c.down ?? false;

    const err = await client.call(method, REQUESTS[method], c.options).then(
      () => undefined,
      (e: ServiceError) => e,
    );

    expect(err?.code).toBe(c.code);
    expect(await registryState()).toBe(before);
    expect(runtime.calls).toEqual([]);
  });

  /** The streaming RPCs, each resolving to the status the stream ended with. */
  const STREAMS: Record<'pushFile' | 'pushImage' | 'upgradeAgent' | 'pullFile' | 'logs' | 'events' | 'backupService', (md: Metadata) => Promise<ServiceError | undefined>> = {
    backupService: (md) =>
      new Promise((resolve) => {
        const stream = client.raw.backupService({ service: 'web' }, md);
        stream.on('data', () => resolve(new Error('backup progress was sent to a caller the agent should refuse') as ServiceError));
        stream.on('error', (err: ServiceError) => resolve(err));
        stream.on('end', () => resolve(undefined));
      }),
    pushFile: (md) =>
      new Promise((resolve) => {
        const stream = client.raw.pushFile(md, (err) => resolve(err ?? undefined));
        stream.on('error', () => undefined);
        stream.write({ header: { service: 'web', path: 'auth-matrix.txt', mode: 0, size: 2, sha256: '', mtimeMs: 0 } });
        stream.write({ chunk: Buffer.from('hi') });
        stream.end();
      }),
    pushImage: (md) =>
      new Promise((resolve) => {
        const stream = client.raw.pushImage(md, (err) => resolve(err ?? undefined));
        stream.on('error', () => undefined);
        stream.write({ header: { reference: 'localhost/auth-matrix:1', imageId: `sha256:${'0'.repeat(64)}`, manifest: Buffer.from('{}') } });
        stream.end();
      }),
    upgradeAgent: (md) =>
      new Promise((resolve) => {
        const stream = client.raw.upgradeAgent(md, (err) => resolve(err ?? undefined));
        stream.on('error', () => undefined);
        stream.write({ header: { version: '9.9.9', size: 2, sha256: '0'.repeat(64) } });
        stream.write({ chunk: Buffer.from('hi') });
        stream.end();
      }),
    pullFile: (md) =>
      new Promise((resolve) => {
        const stream = client.raw.pullFile({ service: 'web', path: 'auth-matrix.txt' }, md);
        stream.on('data', () => undefined);
        stream.on('error', (err: ServiceError) => resolve(err));
        stream.on('end', () => resolve(undefined));
      }),
    logs: (md) =>
      new Promise((resolve) => {
        const stream = client.raw.logs({ service: 'web', component: '', follow: false, tail: 0, since: '', timestamps: false }, md);
        stream.on('data', () => undefined);
        stream.on('error', (err: ServiceError) => resolve(err));
        stream.on('end', () => resolve(undefined));
      }),
    events: (md) =>
      new Promise((resolve) => {
        const stream = client.raw.events({ service: '', since: undefined, follow: false, limit: 0 }, md);
        stream.on('data', () => resolve(new Error('an event was sent to a caller the agent should refuse') as ServiceError));
        stream.on('error', (err: ServiceError) => resolve(err));
        stream.on('end', () => resolve(undefined));
      }),
  };
  const streamMatrix = (Object.keys(STREAMS) as Array<keyof typeof STREAMS>).flatMap((method) => CASES.map((c) => [method, c.name, c] as const));

  it.each(streamMatrix)('should refuse the %s stream with %s, writing and reading nothing', async (method, _name, c) => {
    const before = await registryState();
    runtime.clearCalls();
    identity.down = c.down ?? false;

    const err = await STREAMS[method](client.metadata(c.options));

    expect(err?.code).toBe(c.code);
    expect(await registryState()).toBe(before);
    expect(runtime.calls).toEqual([]);
    expect(fs.existsSync(path.join(srvRoot, 'web', 'auth-matrix.txt'))).toBe(false);
  });

  it('should let an admin through (control)', async () => {
    const result = await client.call('listServices', {});
    expect(result.services.map((s) => s.name)).toEqual(['web']);
  });

  it('should let an admin read events (control)', async () => {
    const kinds = await new Promise<string[]>((resolve, reject) => {
      const seen: string[] = [];
      const stream = client.raw.events({ service: 'web', since: undefined, follow: false, limit: 0 }, client.metadata());
      stream.on('data', (message: { event?: { kind: string } }) => seen.push(message.event?.kind ?? ''));
      stream.on('error', reject);
      stream.on('end', () => resolve(seen));
    });
    expect(kinds.length).toBeGreaterThan(0);
  });

  it('should audit each refusal with the caller it could identify and never the token', async () => {
    agent.lines.length = 0;
    await client.call('stopService', { service: 'web' }, { token: VIEWER }).catch(() => undefined);
    expect(agent.lines.filter((l) => l.msg === 'rpc')).toEqual([
      expect.objectContaining({ method: 'StopService', service: 'web', code: 'PERMISSION_DENIED' }),
    ]);
    expect(JSON.stringify(agent.lines)).not.toContain(VIEWER);
  });
});
