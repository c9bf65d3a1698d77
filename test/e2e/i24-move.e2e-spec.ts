import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { status, type ServiceError } from '@grpc/grpc-js';
import { writeTokensFile } from '@mcp/auth';
import { startFakeMcproxy, type FakeMcproxy } from '../servers/fake-mcproxy';
import { agentClient, httpGet, httpGetWhenUp, makeTestConfig, makeTlsFixture, protoService, startAgentProcess, TEST_ADMIN_TOKEN, type AgentProcess } from '../support';

jest.setTimeout(300_000);

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'mcp.js');
const CONTAINERS_CONF = process.env.CONTAINERS_CONF ?? path.join(ROOT, 'test', 'podman', 'containers.conf');
/** Every service (and so container) of this suite starts with this prefix. */
const P = `i24m${randomBytes(3).toString('hex')}`;
const OPERATOR_TOKEN = 'i24-move-operator-token-0123456789abcdef';
const SECRET_VALUE = `s3cr3t-${randomBytes(12).toString('hex')}`;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * One node of the suite's fleet: a real agent process on loopback with a podman store of its
 * own (CONTAINERS_STORAGE_CONF, so each node's containers, images and secrets are apart, as on
 * separate hosts), its own srv_root, port range and mc-proxy stand-in.
 */
interface Node {
  name: string;
  dir: string;
  srvRoot: string;
  env: Record<string, string>;
  agent: AgentProcess;
  proxy: FakeMcproxy;
  caCertPath: string;
}

function sha(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** path → type, mode, content hash or link text, for the comparison of two trees. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (at: string, prefix: string): void => {
    for (const name of fs.readdirSync(at).sort()) {
      const abs = path.join(at, name);
      const rel = prefix ? `${prefix}/${name}` : name;
      const stat = fs.lstatSync(abs);
      const mode = (stat.mode & 0o7777).toString(8);
      if (stat.isSymbolicLink()) out[rel] = `link ${fs.readlinkSync(abs)}`;
      else if (stat.isDirectory()) {
        out[rel] = `dir ${mode} ${Math.floor(stat.mtimeMs / 1000)}`;
        walk(abs, rel);
      } else out[rel] = `file ${mode} ${sha(abs)} ${Math.floor(stat.mtimeMs / 1000)}`;
    }
  };
  walk(dir, '');
  return out;
}

function definition(name: string, node: string, extra: { component?: string; after?: string } = {}): string {
  return `# ${name}: moved by the i24 move e2e
name = "${name}"
node = "${node}"   # where it runs; mcp move rewrites this
active = true

# the one component
[[components]]
name = "web"
image = "localhost/mcp-test/busybox:1.0"
volumes = ["./:/data"]  # <srv_root>/${name}/ on whichever node runs it
cmd = ["/bin/sh", "-c", "exec httpd -f -p $PORT -h /data/www"]
${extra.component ?? ''}
[[components.routes]]
port = 443
mode = "l4"
${extra.after ?? ''}`;
}

describe('mcp move and mcp node drain (i24: real agents with their own podman stores, the real mcp)', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `${P}-`));
  const home = path.join(work, 'home');
  const tmp = path.join(work, 'tmp');
  const configDir = path.join(home, '.config', 'mcp');
  const servicesDir = path.join(configDir, 'services');
  const nodes: Record<string, Node> = {};
  /** Every mcp invocation's argv, to check that no secret value was ever one. */
  const argvs: string[][] = [];
  const outputs: string[] = [];

  function mcp(args: string[], input?: string): Promise<Result> {
    argvs.push(args);
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, HOME: home, CONTAINERS_CONF, TMPDIR: tmp }, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.stdin.end(input ?? '');
      child.on('close', (code) => {
        outputs.push(stdout, stderr);
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** podman in a node's own store. */
  const podman = (node: Node, args: string[]) => run('podman', args, { env: { ...process.env, ...node.env }, maxBuffer: 16 * 1024 * 1024 });
  async function containers(node: Node): Promise<string[]> {
    const { stdout } = await podman(node, ['ps', '-a', '--format', '{{.Names}}']);
    return stdout.split('\n').filter((n) => n.startsWith(P)).sort();
  }
  const srv = (node: Node, service: string) => path.join(node.srvRoot, service);
  const routesOf = (node: Node, service: string) => node.proxy.routes().filter((r) => r.hostname.startsWith(service));
  const viaProxy = (node: Node, urlPath = '/') => httpGet(node.proxy.listenerPort(':443')!, urlPath);

  let tls: { caCertPath: string; certPath: string; keyPath: string };

  async function startNode(name: string, portBase: number): Promise<Node> {
    const dir = path.join(work, name);
    fs.mkdirSync(dir, { recursive: true });
    const storageConf = path.join(dir, 'storage.conf');
    fs.writeFileSync(storageConf, `[storage]\ndriver = "overlay"\ngraphroot = "${dir}/store/graph"\nrunroot = "${dir}/store/run"\n`);
    const env = { CONTAINERS_CONF, CONTAINERS_STORAGE_CONF: storageConf };
    const socket = path.join(dir, 'mc-proxy.sock');
    const proxy = await startFakeMcproxy({ socketPath: socket });
    const base = makeTestConfig({ dir: path.join(dir, 'agent') });
    const config = makeTestConfig({
      dir: path.join(dir, 'agent'),
      // One CA for the fleet, as the CLI's mcp.toml names one.
      server: { tlsCert: tls.certPath, tlsKey: tls.keyPath },
      mcproxy: { socket, certDir: path.join(dir, 'agent', 'certs') },
      agent: { ...base.agent, nodeName: name, portRangeStart: portBase, portRangeEnd: portBase + 999 },
      auth: { ...base.auth, allowedRoles: ['admin', 'operator'] },
    });
    await writeTokensFile(config.auth.tokensFile!, [
      { token: TEST_ADMIN_TOKEN, username: 'test-admin', roles: ['admin'] },
      { token: OPERATOR_TOKEN, username: 'test-operator', roles: ['operator'] },
    ]);
    const agent = await startAgentProcess({ config, env });
    return { name, dir, srvRoot: config.agent.srvRoot, env, agent, proxy, caCertPath: tls.caCertPath };
  }

  function writeDefinition(name: string, text: string): string {
    const file = path.join(servicesDir, `${name}.toml`);
    fs.writeFileSync(file, text);
    return file;
  }

  async function deployOnA(name: string, text: string, files: (dir: string) => void, first?: () => Promise<void>): Promise<string> {
    const file = writeDefinition(name, text);
    const dir = srv(nodes.a, name);
    fs.mkdirSync(path.join(dir, 'www'), { recursive: true });
    files(dir);
    await first?.();
    const deployed = await mcp(['deploy', name, '--push']);
    expect(deployed.stderr).toBe('');
    expect(deployed.code).toBe(0);
    return file;
  }

  beforeAll(async () => {
    fs.mkdirSync(tmp, { recursive: true });
    fs.mkdirSync(servicesDir, { recursive: true });
    tls = await makeTlsFixture(path.join(work, 'tls'));
    const started = await Promise.all([startNode('a', 31000), startNode('b', 32000), startNode('c', 33000)]);
    for (const node of started) nodes[node.name] = node;
    fs.writeFileSync(
      path.join(configDir, 'mcp.toml'),
      [`[tls]\nca_cert = ${JSON.stringify(tls.caCertPath)}\n`, ...started.map((n) => `[[nodes]]\nname = "${n.name}"\naddress = ${JSON.stringify(n.agent.address)}\nserver_name = "localhost"\n`)].join('\n'),
    );
    fs.writeFileSync(path.join(configDir, 'token'), `${TEST_ADMIN_TOKEN}\n`, { mode: 0o600 });
  });

  afterAll(async () => {
    for (const node of Object.values(nodes)) {
      await node.agent.stop().catch(() => undefined);
      await node.proxy.close().catch(() => undefined);
      await podman(node, ['rm', '-a', '-f', '-t', '0']).catch(() => undefined);
      await podman(node, ['rmi', '-a', '-f']).catch(() => undefined);
      await podman(node, ['secret', 'rm', '--all']).catch(() => undefined);
    }
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('should change nothing with --dry-run and say what it would copy and push', async () => {
    const file = await deployOnA(`${P}-web`, definition(`${P}-web`, 'a'), (dir) => {
      fs.writeFileSync(path.join(dir, 'www', 'index.html'), `hello from ${P}-web\n`);
      fs.mkdirSync(path.join(dir, 'db', 'nested'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'db', 'blob.bin'), randomBytes(3 * 1024 * 1024 + 17));
      fs.writeFileSync(path.join(dir, 'db', 'nested', 'private.key'), 'key material\n', { mode: 0o600 });
      fs.chmodSync(path.join(dir, 'db', 'nested'), 0o750);
      fs.writeFileSync(path.join(dir, 'empty'), '');
      fs.symlinkSync('www/index.html', path.join(dir, 'current'));
      fs.symlinkSync('missing-inside', path.join(dir, 'dangling'));
      fs.utimesSync(path.join(dir, 'db', 'blob.bin'), new Date('2024-01-02T03:04:05Z'), new Date('2024-01-02T03:04:05Z'));
    });
    const before = fs.readFileSync(file, 'utf8');

    const dry = await mcp(['move', `${P}-web`, '--to', 'b', '--dry-run']);

    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`would move ${P}-web from a to b: 4 file(s)`);
    expect(dry.stdout).toContain('image localhost/mcp-test/busybox:1.0: pushed from this workstation to b');
    expect(dry.stdout).toContain('dry run: nothing was changed on a or b');
    expect(fs.readFileSync(file, 'utf8')).toBe(before);
    expect(fs.existsSync(srv(nodes.b, `${P}-web`))).toBe(false);
    expect(await containers(nodes.b)).toEqual([]);
    await expect(podman(nodes.b, ['image', 'exists', 'localhost/mcp-test/busybox:1.0'])).rejects.toBeDefined();
    expect(await containers(nodes.a)).toEqual([`${P}-web-web`]);
  });

  it('should move a routed service with its files: byte-identical on the target, answering there, gone from the source, the definition rewritten with its comments', async () => {
    const name = `${P}-web`;
    const file = path.join(servicesDir, `${name}.toml`);
    const before = fs.readFileSync(file, 'utf8');
    const sourceTree = tree(srv(nodes.a, name));
    expect(await viaProxy(nodes.a, '/index.html')).toBe(`hello from ${name}\n`);

    const moved = await mcp(['move', name, '--to', 'b']);

    expect(moved.stderr).toBe('');
    expect(moved.code).toBe(0);
    expect(moved.stdout).toMatch(/^unavailable for \d+\.\d{3} s \(from its stop on a to healthy on b\)$/m);
    expect(moved.stdout).toContain(`moved ${name} from a to b`);
    // Data: every file, mode, mtime and symlink as on the source.
    expect(tree(srv(nodes.b, name))).toEqual(sourceTree);
    // Answering on the target through its mc-proxy; nothing left on the source.
    expect(routesOf(nodes.b, name)).toHaveLength(1);
    expect(await httpGetWhenUp(nodes.b.proxy.listenerPort(':443')!, '/index.html')).toBe(`hello from ${name}\n`);
    expect(await containers(nodes.b)).toEqual([`${name}-web`]);
    expect(await containers(nodes.a)).toEqual([]);
    expect(routesOf(nodes.a, name)).toEqual([]);
    const list = JSON.parse((await mcp(['list', '--json'])).stdout) as { services: Array<{ service: string; node: string }> };
    expect(list.services.filter((s) => s.service === name).map((s) => s.node)).toEqual(['b']);
    // The definition: only the node changed, its comment kept.
    const after = fs.readFileSync(file, 'utf8');
    expect(after).toBe(before.replace('node = "a"   # where it runs', 'node = "b"   # where it runs'));
  });

  it('should refuse a service with a symlink out of its directory, naming it, and change nothing', async () => {
    const name = `${P}-a-link`;
    await deployOnA(name, definition(name, 'a'), (dir) => {
      fs.writeFileSync(path.join(dir, 'www', 'index.html'), 'linked\n');
      fs.symlinkSync('../../../../etc/passwd', path.join(dir, 'www', 'escape'));
    });

    const refused = await mcp(['move', name, '--to', 'b']);

    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`cannot move ${name} from a to b (nothing was changed)`);
    expect(refused.stderr).toContain('symlink(s) leading out of it: www/escape -> ../../../../etc/passwd');
    expect(fs.existsSync(srv(nodes.b, name))).toBe(false);
    expect(await containers(nodes.b)).not.toContain(`${name}-web`);
    expect(await containers(nodes.a)).toContain(`${name}-web`);
    expect(fs.readFileSync(path.join(servicesDir, `${name}.toml`), 'utf8')).toContain('node = "a"');
  });

  it('should leave the source serving and the target clean when the target never passes its health check', async () => {
    const name = `${P}-sick`;
    // Healthy on a when deployed; the poison file written afterwards travels with the data,
    // so on b the check never passes.
    const file = await deployOnA(
      name,
      definition(name, 'a', { component: '[components.health]\ncmd = ["/bin/sh", "-c", "test ! -e /data/poison"]\ninterval = "200ms"\nstart_period = "3s"\n' }),
      (dir) => fs.writeFileSync(path.join(dir, 'www', 'index.html'), 'still here\n'),
    );
    fs.writeFileSync(path.join(srv(nodes.a, name), 'poison'), 'x');
    const before = fs.readFileSync(file, 'utf8');

    const failed = await mcp(['move', name, '--to', 'b']);

    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`moving ${name} to b failed: deploy on b failed`);
    expect(failed.stderr).toContain('removed its containers, ports and routes on b');
    expect(failed.stderr).toContain('removed the copied data on b');
    expect(failed.stderr).toContain('started it again on a');
    // The source serves again (started after the final copy's stop), through its own proxy.
    expect(await containers(nodes.a)).toContain(`${name}-web`);
    const { stdout: state } = await podman(nodes.a, ['inspect', '--format', '{{.State.Status}}', `${name}-web`]);
    expect(state.trim()).toBe('running');
    expect(routesOf(nodes.a, name)).toHaveLength(1);
    expect(await backendGet(nodes.a, name)).toBe('still here\n');
    // The target: no container, route, port, data or registry entry of it.
    expect(await containers(nodes.b)).not.toContain(`${name}-web`);
    expect(routesOf(nodes.b, name)).toEqual([]);
    expect(fs.existsSync(srv(nodes.b, name))).toBe(false);
    const listB = JSON.parse((await mcp(['list', '--json'])).stdout) as { services: Array<{ service: string; node: string }> };
    expect(listB.services.filter((s) => s.service === name).map((s) => s.node)).toEqual(['a']);
    expect(fs.readFileSync(file, 'utf8')).toBe(before);
  });

  it('should copy secrets only with --copy-secrets, through the CLI memory: the value in no log, audit line, file or argv', async () => {
    const name = `${P}-sec`;
    await deployOnA(
      name,
      definition(name, 'a', { component: 'secrets = ["token"]\n[components.env_secrets]\nAPI_TOKEN = "token"\n' }),
      (dir) => fs.writeFileSync(path.join(dir, 'www', 'index.html'), 'secret service\n'),
      async () => {
        const set = await mcp(['secret', 'set', name, 'token'], SECRET_VALUE);
        expect(set.stderr).toBe('');
        expect(set.code).toBe(0);
      },
    );

    const refused = await mcp(['move', name, '--to', 'c']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`secret(s) token of ${name} are not set on c`);
    expect(refused.stderr).toContain('--copy-secrets');

    // Anyone but an admin is refused the value, even with a role the agent lets in.
    const operator = agentClient({ address: nodes.a.agent.address, caCertPath: nodes.a.caCertPath, token: OPERATOR_TOKEN });
    try {
      const denied = await operator.call('readSecretForMove', { service: name, name: 'token', toNode: 'c' }).catch((e: ServiceError) => e);
      expect((denied as ServiceError).code).toBe(status.PERMISSION_DENIED);
    } finally {
      operator.close();
    }

    const moved = await mcp(['move', name, '--to', 'c', '--copy-secrets']);
    expect(moved.stderr).toBe('');
    expect(moved.code).toBe(0);
    expect(moved.stdout).toContain('copied secret(s) token to c');
    const { stdout: mounted } = await podman(nodes.c, ['exec', `${name}-web`, 'cat', '/run/secrets/token']);
    expect(mounted).toBe(SECRET_VALUE);
    const { stdout: variable } = await podman(nodes.c, ['exec', `${name}-web`, '/bin/sh', '-c', 'echo "$API_TOKEN"']);
    expect(variable.trim()).toBe(SECRET_VALUE);

    // The audit line: who, which secret, to where; never the value.
    expect(nodes.a.agent.logs()).toMatch(new RegExp(`"method":"ReadSecretForMove"[^\\n]*"caller":"test-admin"[^\\n]*"service":"${name}"[^\\n]*"secret":"token","to_node":"c"[^\\n]*"code":"OK"`));
    expect(nodes.a.agent.logs()).toMatch(/"method":"ReadSecretForMove"[^\n]*"caller":"test-operator"[^\n]*"code":"PERMISSION_DENIED"/);
    const base64 = Buffer.from(SECRET_VALUE).toString('base64');
    for (const node of Object.values(nodes)) {
      expect(node.agent.logs()).not.toContain(SECRET_VALUE);
      expect(node.agent.logs()).not.toContain(base64);
    }
    expect(outputs.join('\n')).not.toContain(SECRET_VALUE);
    expect(argvs.flat().join(' ')).not.toContain(SECRET_VALUE);
    // No file outside podman's own secret store holds it: the CLI's home and temp dirs, the agents' dirs (registry, logs, srv).
    const hits: string[] = [];
    const scan = (dir: string): void => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const abs = path.join(dir, entry.name);
        if (entry.isDirectory()) {
          if (entry.name === 'store') continue; // podman's graphroot/runroot (secretsdata.json, container mounts)
          scan(abs);
        } else if (entry.isFile()) {
          const data = fs.readFileSync(abs);
          if (data.includes(SECRET_VALUE) || data.includes(base64)) hits.push(abs);
        }
      }
    };
    scan(work);
    expect(hits).toEqual([]);
  });

  it('should finish, without a second copy, a move that ended after its deploy on the target (the CLI killed there)', async () => {
    const name = `${P}-resume`;
    const file = await deployOnA(name, definition(name, 'a'), (dir) => fs.writeFileSync(path.join(dir, 'www', 'index.html'), 'resumed\n'));
    // The state a move leaves when it is killed right after the target's deploy answered:
    // stopped on a, the data and a healthy deploy on b, the definition still naming a.
    expect((await mcp(['stop', name])).code).toBe(0);
    fs.cpSync(srv(nodes.a, name), srv(nodes.b, name), { recursive: true });
    expect((await mcp(['image', 'push', 'localhost/mcp-test/busybox:1.0', '--node', 'b'])).code).toBe(0);
    const b = agentClient({ address: nodes.b.agent.address, caCertPath: tls.caCertPath, token: TEST_ADMIN_TOKEN });
    try {
      const spec = protoService({ name, components: [{ name: 'web', volumes: ['./:/data'], cmd: ['/bin/sh', '-c', 'exec httpd -f -p $PORT -h /data/www'], routes: [{ port: 443 }] }] });
      const deployed = await b.call('deploy', { service: spec, component: '', force: false, overrideCordon: false });
      expect(deployed.results.every((r) => r.ok)).toBe(true);
    } finally {
      b.close();
    }
    const { stdout: idBefore } = await podman(nodes.b, ['inspect', '--format', '{{.Id}}', `${name}-web`]);

    const dry = await mcp(['move', name, '--to', 'b', '--dry-run']);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`mcp move would undeploy it on a and rewrite node; dry run: nothing was changed`);
    expect(await containers(nodes.a)).toContain(`${name}-web`);

    const finished = await mcp(['move', name, '--to', 'b']);

    expect(finished.stderr).toBe('');
    expect(finished.code).toBe(0);
    expect(finished.stdout).toContain('finished it, nothing copied again');
    expect(finished.stdout).not.toContain('live copy');
    expect(await containers(nodes.a)).not.toContain(`${name}-web`);
    const { stdout: idAfter } = await podman(nodes.b, ['inspect', '--format', '{{.Id}}', `${name}-web`]);
    expect(idAfter).toBe(idBefore);
    expect(await backendGet(nodes.b, name)).toBe('resumed\n');
    expect(fs.readFileSync(file, 'utf8')).toContain('node = "b"   # where it runs');
  });

  it('should drain a node: cordon it, stop at the first failure, then with --keep-going move the others each to the up node with most free memory, with a summary table', async () => {
    for (const n of ['d1', 'd2']) {
      const name = `${P}-${n}`;
      await deployOnA(name, definition(name, 'a', { component: 'memory = "2g"\n' }), (dir) => fs.writeFileSync(path.join(dir, 'www', 'index.html'), `${n}\n`));
    }
    // On a now: a-link (refused: symlink out), d1, d2, sick (never healthy elsewhere).

    const first = await mcp(['node', 'drain', 'a', '--json']);

    expect(first.code).toBe(1);
    const stopped = JSON.parse(first.stdout) as { node: string; services: Array<{ service: string; to: string; result: string; error?: string }> };
    expect(stopped.services.map((s) => [s.service, s.result])).toEqual([
      [`${P}-a-link`, 'failed'],
      [`${P}-d1`, 'not tried'],
      [`${P}-d2`, 'not tried'],
      [`${P}-sick`, 'not tried'],
    ]);
    expect(stopped.services[0].error).toContain('symlink(s) leading out of it');
    const status = JSON.parse((await mcp(['node', 'status', 'a', '--json'])).stdout) as { nodes: Array<{ cordoned: boolean }> };
    expect(status.nodes[0].cordoned).toBe(true);

    const drained = await mcp(['node', 'drain', 'a', '--keep-going']);

    expect(drained.code).toBe(1);
    const rows = drained.stdout.split('\n').filter((line) => line.startsWith(P));
    expect(rows).toHaveLength(4);
    expect(drained.stdout).toMatch(/^SERVICE\s+TO\s+RESULT\s+UNAVAILABLE$/m);
    expect(rows[0]).toMatch(new RegExp(`^${P}-a-link\\s+[bc]\\s+failed: .*symlink`));
    expect(rows[1]).toMatch(new RegExp(`^${P}-d1\\s+[bc]\\s+moved\\s+\\d+\\.\\d{3} s$`));
    expect(rows[2]).toMatch(new RegExp(`^${P}-d2\\s+[bc]\\s+moved\\s+\\d+\\.\\d{3} s$`));
    expect(rows[3]).toMatch(new RegExp(`^${P}-sick\\s+[bc]\\s+failed: .*deploy on [bc] failed`));
    expect(drained.stderr).toContain(`2 of 4 service(s) not moved off a: ${P}-a-link, ${P}-sick`);
    // 2 GiB each: once d1 took one node's memory, d2 goes to the other.
    const d1 = rows[1].split(/\s+/)[1];
    const d2 = rows[2].split(/\s+/)[1];
    expect(new Set([d1, d2])).toEqual(new Set(['b', 'c']));
    for (const [n, node] of [['d1', d1], ['d2', d2]] as const) {
      expect(await backendGet(nodes[node], `${P}-${n}`)).toBe(`${n}\n`);
      expect(fs.readFileSync(path.join(servicesDir, `${P}-${n}.toml`), 'utf8')).toContain(`node = "${node}"   # where it runs`);
    }
    expect(await containers(nodes.a)).toEqual([`${P}-a-link-web`, `${P}-sick-web`]);
  });

  /** GET /index.html from the backend that node's mc-proxy has for the service's one route (several services share :443, told apart by SNI). */
  async function backendGet(node: Node, service: string): Promise<string> {
    const routes = routesOf(node, service);
    expect(routes).toHaveLength(1);
    return httpGetWhenUp(Number(routes[0].backend.split(':').pop()), '/index.html');
  }
});
