import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { loadServiceFile } from '@mcp/servicedef';
import { freePortSync, makeTestConfig, startAgentProcess, type AgentProcess } from '../support';

jest.setTimeout(180_000);

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'mcp.js');
const IMAGE = 'localhost/mcp-test/busybox:1.0';
/** Every container this suite creates starts with this prefix (a valid service name). */
const PREFIX = `bs${randomBytes(3).toString('hex')}`;
const WEB = `${PREFIX}-web`;
const DB = `${PREFIX}-db`;
const NODE = 'node1';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function removeOurContainers(): Promise<void> {
  const { stdout } = await run('podman', ['ps', '-a', '--format', '{{.Names}}']);
  const names = stdout.split('\n').filter((n) => n.startsWith(PREFIX));
  if (names.length > 0) await run('podman', ['rm', '-f', '-t', '0', ...names]);
}

async function containerIds(): Promise<Record<string, string>> {
  const { stdout } = await run('podman', ['ps', '-a', '--filter', `name=^${PREFIX}`, '--format', '{{.Names}} {{.ID}}']);
  return Object.fromEntries(
    stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => line.trim().split(' ') as [string, string]),
  );
}

/** The certificate steps of docs/bootstrap.md, same openssl argv. */
async function makeCertificates(dir: string, cert: string, key: string): Promise<string> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.mkdirSync(path.dirname(cert), { recursive: true, mode: 0o700 });
  const ca = path.join(dir, 'ca.crt');
  const caKey = path.join(dir, 'ca.key');
  const csr = path.join(dir, 'agent.csr');
  const ext = path.join(dir, 'agent.ext');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await run('openssl', ['req', '-x509', ...ec, '-keyout', caKey, '-out', ca, '-days', '3650', '-subj', '/CN=mcp operator CA']);
  await run('openssl', ['req', ...ec, '-keyout', key, '-out', csr, '-subj', '/CN=node1.example.net']);
  fs.writeFileSync(ext, 'subjectAltName=DNS:node1.example.net,DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n');
  await run('openssl', ['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-out', cert, '-days', '825', '-extfile', ext]);
  fs.chmodSync(key, 0o600);
  return ca;
}

/**
 * docs/bootstrap.md, performed: a node already running two services by hand (plain
 * `podman run`) gets its first agent (static token, operator CA), and the workstation adopts
 * both services, exports their definitions, sees no drift, and redeploys them as a no-op.
 */
describe('bootstrap procedure (docs/bootstrap.md)', () => {
  const config = makeTestConfig({ agent: { nodeName: NODE }, mcproxy: { socket: undefined } });
  const agentDir = path.dirname(config.file);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-bootstrap-e2e-'));
  const home = path.join(work, 'home');
  const servicesDir = path.join(home, '.config', 'mcp', 'services');
  const webData = path.join(work, 'srv', 'web');
  const dbData = path.join(work, 'srv', 'db');
  const webPort = freePortSync();
  const token = randomBytes(32).toString('hex');
  let caCert = '';
  let agent: AgentProcess | undefined;
  let idsBefore: Record<string, string> = {};

  function mcp(args: string[]): Promise<Result> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args], {
        env: { PATH: process.env.PATH, HOME: home },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  async function mcpOk(args: string[]): Promise<string> {
    const result = await mcp(args);
    expect({ args, code: result.code, stderr: result.stderr }).toEqual({ args, code: 0, stderr: '' });
    return result.stdout;
  }

  beforeAll(async () => {
    fs.mkdirSync(home, { recursive: true });
    fs.mkdirSync(webData, { recursive: true });
    fs.mkdirSync(dbData, { recursive: true });
    // What the node ran before MCP: containers started by hand.
    await run('podman', [
      'run', '-d', '--name', WEB, '-p', `127.0.0.1:${webPort}:8080`, '-e', 'GREETING=hello', '-v', `${webData}:/www`,
      '--restart', 'unless-stopped', IMAGE,
    ]);
    await run('podman', ['run', '-d', '--name', DB, '-e', 'DB_MODE=primary', '-v', `${dbData}:/data`, '--restart', 'always', IMAGE, 'sleep', '86400']);
    await run('podman', [
      'run', '-d', '--name', `${DB}-backup`, '-e', 'BACKUP_EVERY=1h', '-v', `${dbData}:/data:ro`, '--restart', 'on-failure:3', IMAGE, 'sleep', '86400',
    ]);
    idsBefore = await containerIds();

    // Node: TLS certificate from the operator's CA, a static token (hash only), start.
    caCert = await makeCertificates(path.join(work, 'ca'), config.server.tlsCert, config.server.tlsKey);
    const sha256 = createHash('sha256').update(token).digest('hex');
    fs.writeFileSync(config.auth.tokensFile!, `[[tokens]]\nsha256 = "${sha256}"\nusername = "operator"\nroles = ["admin"]\n`, { mode: 0o600 });
    agent = await startAgentProcess({ config });

    // Workstation: the CLI config and the token file.
    fs.mkdirSync(path.join(home, '.config', 'mcp'), { recursive: true });
    fs.writeFileSync(path.join(home, '.config', 'mcp', 'mcp.toml'), `[tls]\nca_cert = ${JSON.stringify(caCert)}\n`);
    fs.writeFileSync(path.join(work, 'token'), `${token}\n`, { mode: 0o600 });
  });

  afterAll(async () => {
    await agent?.stop();
    await removeOurContainers();
    fs.rmSync(agentDir, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('should add the node, log in with the static token and report the node', async () => {
    const port = agent!.address.split(':').pop();
    await mcpOk(['node', 'add', NODE, `127.0.0.1:${port}`, '--server-name', 'node1.example.net']);
    await mcpOk(['login', '--token-file', path.join(work, 'token')]);
    expect(fs.statSync(path.join(home, '.config', 'mcp', 'token')).mode & 0o777).toBe(0o600);

    const body = JSON.parse(await mcpOk(['node', 'status', '--json'])) as { nodes: Array<{ node: string; agentNode: string; runningContainers: number }>; errors: unknown[] };
    expect(body.errors).toEqual([]);
    expect(body.nodes).toEqual([expect.objectContaining({ node: NODE, agentNode: NODE })]);
    expect(body.nodes[0].runningContainers).toBeGreaterThanOrEqual(3);
  });

  it('should adopt each service without touching its containers', async () => {
    const web = await mcpOk(['adopt', WEB]);
    expect(web).toMatch(new RegExp(`^${WEB}\\s+${WEB}\\s+${NODE}\\s+adopted$`, 'm'));
    const db = await mcpOk(['adopt', DB]);
    expect(db).toMatch(new RegExp(`^${DB}\\s+${DB}\\s+${NODE}\\s+adopted$`, 'm'));
    expect(db).toMatch(new RegExp(`^backup\\s+${DB}-backup\\s+${NODE}\\s+adopted$`, 'm'));
    expect(db).toContain(`run mcp service export ${DB} to write one`);
    expect(await containerIds()).toEqual(idsBefore);
  });

  it('should export definitions that load and carry image, ports, env, volumes, cmd and restart', async () => {
    await mcpOk(['service', 'export', WEB]);
    await mcpOk(['service', 'export', DB]);

    const web = await loadServiceFile(path.join(servicesDir, `${WEB}.toml`));
    expect(web).toMatchObject({ name: WEB, node: NODE, active: true });
    expect(web.components).toHaveLength(1);
    expect(web.components[0]).toMatchObject({
      name: WEB,
      image: IMAGE,
      restart: 'unless-stopped',
      ports: [`127.0.0.1:${webPort}:8080/tcp`],
      volumes: [expect.stringMatching(new RegExp(`^${webData}:/www`))],
    });
    expect(web.components[0].env).toContain('GREETING=hello');

    const db = await loadServiceFile(path.join(servicesDir, `${DB}.toml`));
    expect(db).toMatchObject({ name: DB, node: NODE, active: true });
    const byName = Object.fromEntries(db.components.map((c) => [c.name, c]));
    expect(Object.keys(byName).sort()).toEqual(['backup', DB].sort());
    expect(byName[DB]).toMatchObject({ image: IMAGE, restart: 'always', cmd: ['sleep', '86400'], volumes: [expect.stringMatching(new RegExp(`^${dbData}:/data`))] });
    expect(byName[DB].env).toContain('DB_MODE=primary');
    expect(byName.backup).toMatchObject({ image: IMAGE, restart: 'on-failure:3', cmd: ['sleep', '86400'], volumes: [expect.stringMatching(new RegExp(`^${dbData}:/data:ro`))] });
    expect(byName.backup.env).toContain('BACKUP_EVERY=1h');
  });

  it('should show no drift in mcp status', async () => {
    const table = await mcpOk(['status']);
    const ours = table.split('\n').filter((line) => line.includes(PREFIX) && /\brunning\b/.test(line));
    expect(ours.length).toBeGreaterThanOrEqual(3);
    expect(ours.filter((line) => line.includes('*'))).toEqual([]);

    const body = JSON.parse(await mcpOk(['status', '--json'])) as { components: Array<{ service: string; component: string; desired: string; observed: string; drift: boolean }> };
    const components = body.components.filter((c) => c.service.startsWith(PREFIX)).map((c) => [c.service, c.component, c.desired, c.observed, c.drift]);
    expect(components.sort()).toEqual(
      [
        [WEB, WEB, 'running', 'running', false],
        [DB, DB, 'running', 'running', false],
        [DB, 'backup', 'running', 'running', false],
      ].sort(),
    );
  });

  it('should redeploy each exported definition as a no-op', async () => {
    for (const service of [WEB, DB]) {
      await mcpOk(['deploy', service]);
    }
    expect(await containerIds()).toEqual(idsBefore);
  });

  it('should list the adopted containers in mcp ps', async () => {
    const body = JSON.parse(await mcpOk(['ps', '--json'])) as { containers: Array<{ service: string; component: string; state: string; version: string }> };
    const ours = body.containers.filter((c) => c.service.startsWith(PREFIX)).map((c) => [c.service, c.component, c.state, c.version]);
    expect(ours.sort()).toEqual(
      [
        [WEB, WEB, 'running', '1.0'],
        [DB, DB, 'running', '1.0'],
        [DB, 'backup', 'running', '1.0'],
      ].sort(),
    );
  });
});
