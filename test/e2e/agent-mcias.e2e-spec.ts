import * as fs from 'node:fs';
import * as path from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import { startFakeMcias, type FakeMcias } from '../servers/fake-mcias';
import { agentClient, makeTestConfig, makeTlsFixture, startAgentProcess, type AgentProcess, type AgentTestClient } from '../support';

jest.setTimeout(120_000);

/** The real agent process in `auth.mode = "mcias"` against an HTTPS MCIAS with real EdDSA tokens. */
describe('mcp-agent with MCIAS auth (real process)', () => {
  let mcias: FakeMcias;
  let agent: AgentProcess;
  let client: AgentTestClient;
  let dir: string;

  beforeAll(async () => {
    mcias = await startFakeMcias({
      users: [
        { username: 'ops', password: 'pw', roles: ['admin'] },
        { username: 'visitor', password: 'pw', roles: ['guest'] },
      ],
    });
    const base = makeTestConfig();
    dir = path.dirname(base.file);
    const config = makeTestConfig({ dir, auth: { mode: 'mcias', tokensFile: undefined, allowedRoles: ['admin'] }, mcias: { serverUrl: mcias.url, caCert: mcias.caCertPath } });
    const tls = await makeTlsFixture(path.join(dir, 'tls'));
    agent = await startAgentProcess({ config });
    client = agentClient({ address: agent.address, caCertPath: tls.caCertPath });
  });

  afterAll(async () => {
    client?.close();
    await agent?.stop();
    await mcias?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const codeOf = (token: string): Promise<status> =>
    client.call('listServices', {}, { token }).then(
      () => status.OK,
      (err: ServiceError) => err.code,
    );

  it('should accept an admin token and reuse the validation for 30 s', async () => {
    const token = mcias.tokenFor('ops');
    mcias.resetCalls();
    expect(await codeOf(token)).toBe(status.OK);
    expect(await codeOf(token)).toBe(status.OK);
    expect(mcias.calls.validate).toBe(1);
    expect(agent.logs()).not.toContain(token);
  });

  it('should refuse a guest with PERMISSION_DENIED and an expired token with UNAUTHENTICATED', async () => {
    expect(await codeOf(mcias.tokenFor('visitor'))).toBe(status.PERMISSION_DENIED);
    expect(await codeOf(mcias.tokenFor('ops', { ttlSeconds: -60 }))).toBe(status.UNAUTHENTICATED);
  });

  it('should fail closed with UNAVAILABLE while MCIAS is down', async () => {
    const fresh = mcias.tokenFor('ops', { ttlSeconds: 600 });
    mcias.setDown(true);
    try {
      expect(await codeOf(fresh)).toBe(status.UNAVAILABLE);
    } finally {
      mcias.setDown(false);
    }
    expect(await codeOf(fresh)).toBe(status.OK);
  });
});
