import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { loadServiceFile } from '@mcp/servicedef';
import { httpGetWhenUp, makeTestConfig, makeTlsFixture, startAgentProcess, writeTestTokens, type AgentProcess, writeCliConfig } from '../support';

jest.setTimeout(240_000);

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'mcp.js');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'compose');
/** Every container, volume, network and secret this suite creates carries this prefix. */
const PREFIX = `i14${randomBytes(3).toString('hex')}`;
const IMAGE = 'localhost/mcp-test/busybox:1.0';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function podmanLines(args: string[]): Promise<string[]> {
  const { stdout } = await run('podman', args);
  return stdout.split('\n').filter((line) => line.startsWith(PREFIX));
}

/** SPEC §9 end to end: the real mcp binary, the real agent process, real podman, podman kube play and podman-compose. */
describe('definitions that cover real services', () => {
  const config = makeTestConfig({ mcproxy: { socket: undefined } });
  const agentDir = path.dirname(config.file);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-i14-e2e-'));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-i14-work-'));
  const configDir = path.join(home, '.config', 'mcp');
  const servicesDir = path.join(configDir, 'services');
  const srvDirs: string[] = [];
  let agent: AgentProcess;

  function mcp(args: string[], stdin?: string): Promise<Result> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args], {
        env: { PATH: process.env.PATH, HOME: home, CONTAINERS_CONF: process.env.CONTAINERS_CONF },
        stdio: ['pipe', 'pipe', 'pipe'],
        cwd: work,
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
      child.stdin.end(stdin ?? '');
    });
  }

  /** Copies a fixture into `<work>/<dir>/` (its directory name is Compose's project name) with a .env. */
  function fixture(source: string, dir: string, env: Record<string, string | number>): string {
    const target = path.join(work, dir);
    fs.cpSync(path.join(FIXTURES, path.dirname(source)), target, { recursive: true });
    fs.writeFileSync(path.join(target, '.env'), Object.entries(env).map(([key, value]) => `${key}=${value}`).join('\n'));
    return path.join(target, path.basename(source));
  }

  beforeAll(async () => {
    const tls = await makeTlsFixture(path.join(agentDir, 'tls'));
    await writeTestTokens(config);
    agent = await startAgentProcess({ config });
    const port = agent.address.split(':').pop();
    fs.mkdirSync(servicesDir, { recursive: true });
    writeCliConfig(configDir, { caCertPath: tls.caCertPath, nodes: [{ name: 'local', address: `127.0.0.1:${port}` }] });
  });

  afterAll(async () => {
    await agent?.stop();
    const containers = await podmanLines(['ps', '-a', '--format', '{{.Names}}']);
    if (containers.length) await run('podman', ['rm', '-f', '-t', '0', ...containers]);
    const pods = await podmanLines(['pod', 'ps', '--format', '{{.Name}}']);
    if (pods.length) await run('podman', ['pod', 'rm', '-f', ...pods]);
    const volumes = await podmanLines(['volume', 'ls', '--format', '{{.Name}}']);
    if (volumes.length) await run('podman', ['volume', 'rm', '-f', ...volumes]);
    const networks = await podmanLines(['network', 'ls', '--format', '{{.Name}}']);
    if (networks.length) await run('podman', ['network', 'rm', '-f', ...networks]);
    const { stdout } = await run('podman', ['secret', 'ls', '--format', '{{.Name}}']);
    for (const secret of stdout.split('\n').filter((name) => name.startsWith(`mcp.${PREFIX}`))) await run('podman', ['secret', 'rm', secret]);
    for (const dir of srvDirs) fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(agentDir, { recursive: true, force: true });
    fs.rmSync(home, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  });

  describe('secrets', () => {
    const service = `${PREFIX}-vault`;
    const first = `first-${randomBytes(12).toString('hex')}`;
    const second = `second-${randomBytes(12).toString('hex')}`;
    let port: number;

    async function containerId(): Promise<string> {
      const { stdout } = await run('podman', ['inspect', '--format', '{{.Id}}', service]);
      return stdout.trim();
    }

    beforeAll(async () => {
      port = await freePort();
      fs.writeFileSync(
        path.join(servicesDir, `${service}.toml`),
        `name = "${service}"\nnode = "local"\n\n[[components]]\nname = "${service}"\nimage = "${IMAGE}"\n` +
          `ports = ["127.0.0.1:${port}:8080"]\nmemory = "64m"\ncpus = 0.5\nsecrets = ["token"]\nenv_secrets = { TOKEN = "token" }\n` +
          `cmd = ["/bin/sh", "-c", "mkdir -p /www && cat /run/secrets/token > /www/file.txt && echo \\"$TOKEN\\" > /www/env.txt && exec httpd -f -p 8080 -h /www"]\n`,
      );
    });

    it('should refuse to deploy before the secret is set, saying how to set it', async () => {
      const result = await mcp(['deploy', service]);

      expect(result.code).toBe(1);
      expect(result.stdout).toContain(`secret "token" of service "${service}" not set: run mcp secret set ${service} token < FILE`);
    });

    it('should take the value from stdin only and give it to the container as a file and a variable, with the limits', async () => {
      const set = await mcp(['secret', 'set', service, 'token'], first);
      expect(set.code).toBe(0);
      expect(set.stdout).toBe(`secret token of ${service} set on local; mcp deploy ${service} recreates ${service}\n`);

      const deploy = await mcp(['deploy', service]);
      expect(deploy.code).toBe(0);

      expect(await httpGetWhenUp(port, '/file.txt')).toBe(first);
      expect((await httpGetWhenUp(port, '/env.txt')).trim()).toBe(first);
      const { stdout: inside } = await run('podman', ['exec', service, 'sh', '-c', 'cat /run/secrets/token; echo; echo "$TOKEN"']);
      expect(inside.split('\n').slice(0, 2)).toEqual([first, first]);
      const { stdout: limits } = await run('podman', ['inspect', '--format', '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}', service]);
      expect(limits.trim()).toBe(`${64 * 1024 * 1024} 500000000`);
    });

    it('should list names, times and users, never the value', async () => {
      const list = await mcp(['secret', 'list', service, '--json']);

      expect(list.code).toBe(0);
      expect(JSON.parse(list.stdout)).toEqual([{ name: 'token', set: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), usedBy: [service] }]);
      expect(list.stdout).not.toContain(first);
    });

    it('should refuse to remove a secret a deployed component uses', async () => {
      const rm = await mcp(['secret', 'rm', service, 'token']);

      expect(rm.code).toBe(1);
      expect(rm.stderr).toContain(`secret "token" is used by deployed component ${service} of ${service}`);
      expect((await run('podman', ['secret', 'ls', '--format', '{{.Name}}'])).stdout).toContain(`mcp.${service}.token`);
    });

    it('should recreate the component on the next deploy after the secret changed, and only then', async () => {
      const before = await containerId();
      await mcp(['deploy', service]);
      expect(await containerId()).toBe(before);

      expect((await mcp(['secret', 'set', service, 'token'], second)).code).toBe(0);
      const deploy = await mcp(['deploy', service]);

      expect(deploy.code).toBe(0);
      expect(await containerId()).not.toBe(before);
      expect(await httpGetWhenUp(port, '/file.txt')).toBe(second);
    });

    it('should not have written either value anywhere of its own: log, audit lines, database, export', async () => {
      const exported = await mcp(['service', 'export', service, '-o', '-']);
      const database = ['', '-wal', '-shm']
        .map((suffix) => `${config.database.path}${suffix}`)
        .filter((file) => fs.existsSync(file))
        .map((file) => fs.readFileSync(file).toString('latin1'));
      const logs = agent.logs();

      expect(logs).toContain('"method":"SetSecret"');
      for (const value of [first, second]) {
        expect(logs).not.toContain(value);
        expect(exported.stdout).not.toContain(value);
        for (const text of database) expect(text).not.toContain(value);
      }
      expect(database.join('')).toContain('token');
    });

    it('should remove the secret once no deployed component uses it', async () => {
      expect((await mcp(['undeploy', service])).code).toBe(0);

      const rm = await mcp(['secret', 'rm', service, 'token']);

      expect(rm.code).toBe(0);
      expect((await run('podman', ['secret', 'ls', '--format', '{{.Name}}'])).stdout).not.toContain(`mcp.${service}.token`);
    });
  });

  describe('import compose', () => {
    it('should import a web app with database and cache, and deploy it answering, in depends_on order', async () => {
      const port = await freePort();
      const file = fixture('web-db-cache/docker-compose.yml', `${PREFIX}-shop`, { WEB_PORT: port });
      fs.writeFileSync(path.join(path.dirname(file), 'db_password.txt'), 'compose-secret');
      const service = `${PREFIX}-shop`;

      const imported = await mcp(['import', 'compose', file, '--name', service]);

      expect(imported.code).toBe(0);
      expect(imported.stderr).toContain(`secrets.db_password: store its value on the node: mcp secret set ${service} db_password < ./db_password.txt`);
      expect(imported.stderr).toContain('services.cache.expose: not needed');
      const definition = path.join(servicesDir, `${service}.toml`);
      const spec = await loadServiceFile(definition);
      expect(spec.components.map((c) => [c.name, c.depends_on ?? []])).toEqual([['web', ['db', 'cache']], ['db', []], ['cache', []]]);

      expect((await mcp(['import', 'compose', file, '--name', service])).code).toBe(1);
      expect((await mcp(['secret', 'set', service, 'db_password'], 'compose-secret')).code).toBe(0);
      const deploy = await mcp(['deploy', service]);
      expect(deploy.code).toBe(0);
      expect(await httpGetWhenUp(port)).toBe('web-up hello from compose\n');
      const { stdout } = await run('podman', ['inspect', '--format', '{{.Name}} {{.State.StartedAt}}', `${service}-db`, `${service}-cache`, `${service}-web`]);
      const started = stdout.trim().split('\n').map((line) => Date.parse(line.split(' ').slice(1, 3).join('T')));
      expect(started[2]).toBeGreaterThanOrEqual(Math.max(started[0], started[1]));
      expect((await mcp(['undeploy', service])).code).toBe(0);
    });

    it('should import anchors, merge keys, env files and interpolation, and deploy it answering', async () => {
      const port = await freePort();
      const project = `${PREFIX}-anchors`;
      const file = fixture('anchors-env/compose.yaml', project, { FRONT_PORT: port });
      const service = `${PREFIX}-front`;
      await run('podman', ['network', 'create', `${project}_backend`]);
      srvDirs.push(path.join('/srv', service));
      fs.mkdirSync(path.join('/srv', service, 'data'), { recursive: true });

      const imported = await mcp(['import', 'compose', file, '--name', service]);

      expect(imported.code).toBe(0);
      expect(imported.stderr).toContain(`networks.backend: podman network "${project}_backend" must exist on the node`);
      expect(imported.stderr).toContain('services.frontend.build: ignored');
      expect(imported.stderr).toContain('services.Worker_1: imported as component "worker-1"');
      expect((await mcp(['deploy', service])).code).toBe(0);
      expect(await httpGetWhenUp(port)).toBe('shop debug $5\n');
      expect((await mcp(['undeploy', service])).code).toBe(0);
    });

    it('should write nothing and say what to fix when the Compose file cannot become a valid definition', async () => {
      const dir = path.join(work, `${PREFIX}-bad`);
      fs.mkdirSync(dir);
      const file = path.join(dir, 'compose.yaml');
      fs.writeFileSync(file, 'services:\n  web:\n    image: nginx\n    depends_on: [db]\n');

      const result = await mcp(['import', 'compose', file, '--name', `${PREFIX}-bad`]);

      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`${file}: services.web.depends_on[0]: no component "db" in this service`);
      expect(result.stderr).toMatch(new RegExp(`${file}: services.web.image: .*tag`));
      expect(fs.existsSync(path.join(servicesDir, `${PREFIX}-bad.toml`))).toBe(false);
    });
  });

  describe('export', () => {
    const service = `${PREFIX}-hc`;
    const kubeFile = path.join(work, 'kube.yaml');
    const composeDir = path.join(work, `${PREFIX}-composed`);
    const composeFile = path.join(composeDir, 'compose.yaml');
    let port: number;

    beforeAll(async () => {
      port = await freePort();
      const file = fixture('healthchecks/compose.yaml', `${PREFIX}-hcdir`, { API_PORT: port });
      expect((await mcp(['import', 'compose', file, '--name', service])).code).toBe(0);
      // `init` is a one-off job (Compose: service_completed_successfully): MCP runs long-lived
      // components, so its health gate fails it; api and broker deploy.
      const deployed = await mcp(['deploy', service]);
      expect(deployed.stdout).toMatch(/^api\s+\S+\s+local\s+deployed$/m);
      expect(deployed.stdout).toMatch(/^broker\s+\S+\s+local\s+deployed$/m);
      expect(await httpGetWhenUp(port)).toBe('api ok\n');
      // Exported while it runs (an undeployed service is inactive: replicas 0); the exported
      // files publish the same ports, so MCP's containers give them up before they are played.
      fs.mkdirSync(composeDir);
      expect((await mcp(['service', 'export', service, '--format', 'kube', '-o', kubeFile])).code).toBe(0);
      expect((await mcp(['service', 'export', service, '--format', 'compose', '-o', composeFile])).code).toBe(0);
      expect((await mcp(['undeploy', service])).code).toBe(0);
    });

    it('should write Kubernetes YAML that podman kube play runs and that answers on its port', async () => {
      const file = kubeFile;
      const text = fs.readFileSync(file, 'utf8');
      expect(text).toMatch(/^# Kubernetes manifests for MCP service/);
      expect(text).toContain(`#   - api: depends_on broker (Kubernetes starts pods in any order`);

      try {
        await run('podman', ['kube', 'play', file]);
        const answer = await httpGetWhenUp(port).catch(async (error: Error) => {
          const { stdout } = await run('podman', ['ps', '-a', '--format', '{{.Names}} {{.Status}} {{.Ports}}']);
          throw new Error(`${error.message}\n${text}\n${stdout}`);
        });
        expect(answer).toBe('api ok\n');
      } finally {
        await run('podman', ['kube', 'down', file]).catch(() => undefined);
      }
    });

    it('should write a Compose file that podman-compose up -d runs and that answers on its port', async () => {
      const dir = composeDir;
      const file = composeFile;
      expect(fs.readFileSync(file, 'utf8')).toMatch(/^# Compose file for MCP service/);

      try {
        await run('podman-compose', ['-f', file, 'up', '-d'], { cwd: dir });
        expect(await httpGetWhenUp(port)).toBe('api ok\n');
      } finally {
        await run('podman-compose', ['-f', file, 'down'], { cwd: dir }).catch(() => undefined);
      }
    });
  });
});
