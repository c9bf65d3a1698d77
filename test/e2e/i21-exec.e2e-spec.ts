import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeTestConfig, protoService, removeContainers, TEST_ADMIN_TOKEN, TestAgent, type AgentTestClient } from '../support';

jest.setTimeout(120_000);

const ROOT = path.resolve(__dirname, '..', '..');
const MCP = path.join(ROOT, 'bin', 'mcp.js');
const ID = randomBytes(3).toString('hex');
const SERVICE = `i21x${ID}`;
const STOPPED = `i21s${ID}`;
const SLEEPER = ['/bin/sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"];

interface Ran {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/**
 * SPEC §12 `mcp exec` end to end: the real `mcp` binary, the real agent (REST adapter on the
 * podman service it supervises) and real podman; the TTY cases run `mcp` inside a real
 * pseudo-terminal (util-linux `script`).
 */
describe('mcp exec (real mcp, real agent, real podman)', () => {
  let node: TestAgent;
  let client: AgentTestClient;
  let home: string;
  let env: NodeJS.ProcessEnv;

  /** Runs a program with the test's mcp config; `input` is its stdin (ends it). */
  function runProgram(command: string, args: string[], input?: Buffer | string, onStdout?: (text: string, child: ReturnType<typeof spawn>) => void): Promise<Ran> {
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      let stderr = '';
      child.stdout.on('data', (data: Buffer) => {
        out.push(data);
        onStdout?.(Buffer.concat(out).toString('latin1'), child);
      });
      child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
      child.on('error', reject);
      // Bounded: a hang fails the test in 30 s with what was seen, instead of at the suite's timeout.
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout: Buffer.concat(out), stderr });
      });
      if (input !== undefined) child.stdin.end(input);
      else if (!onStdout) child.stdin.end();
    });
  }
  const mcp = (args: string[], input?: Buffer | string) => runProgram(process.execPath, [MCP, ...args], input);
  /** `mcp …` inside a pseudo-terminal of `rows`×`cols` (script -e: its exit status is mcp's). */
  const inTerminal = (mcpArgs: string, onStdout?: (text: string, child: ReturnType<typeof spawn>) => void) =>
    runProgram('script', ['-qec', `stty rows 31 cols 97; ${process.execPath} ${MCP} ${mcpArgs}`, '/dev/null'], undefined, onStdout);

  beforeAll(async () => {
    node = await TestAgent.create({ config: makeTestConfig({ mcproxy: { socket: undefined } }) });
    client = await node.start();
    for (const name of [SERVICE, STOPPED]) {
      const deployed = await client.call('deploy', {
        service: protoService({ name, components: [{ name: 'web', cmd: SLEEPER }, { name: 'db', cmd: SLEEPER }] }),
        component: '',
        force: false,
      });
      expect(deployed.results.every((r) => r.ok)).toBe(true);
    }
    await client.call('stopService', { service: STOPPED });
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'i21-exec-e2e-'));
    const configDir = path.join(home, '.config', 'mcp');
    fs.mkdirSync(path.join(configDir, 'services'), { recursive: true });
    fs.writeFileSync(
      path.join(configDir, 'mcp.toml'),
      `[tls]\nca_cert = ${JSON.stringify(node.caCertPath)}\n\n[[nodes]]\nname = "local"\naddress = "127.0.0.1:${node.process!.address.split(':').pop()}"\nserver_name = "localhost"\n`,
    );
    fs.writeFileSync(path.join(configDir, 'token'), `${TEST_ADMIN_TOKEN}\n`, { mode: 0o600 });
    env = { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), NO_COLOR: '1', TERM: 'xterm' };
  });

  afterAll(async () => {
    await node?.dispose({ containerPrefix: SERVICE });
    await removeContainers(STOPPED);
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  it("should keep stdout and stderr apart and exit with the command's status", async () => {
    const ran = await mcp(['exec', `${SERVICE}/web`, '--', 'sh', '-c', 'echo out; echo err >&2; exit 7']);
    expect({ code: ran.code, stdout: ran.stdout.toString(), stderr: ran.stderr }).toEqual({ code: 7, stdout: 'out\n', stderr: 'err\n' });
    expect((await mcp(['exec', `${SERVICE}/web`, '--', 'true'])).code).toBe(0);
  });

  it('should record caller, target and argv in the audit line', () => {
    const line = node.process!.logs().split('\n').find((text) => text.includes('"method":"Exec"') && text.includes('exit 7'));
    expect(line).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ method: 'Exec', caller: expect.any(String), service: SERVICE, component: 'web', argv: ['sh', '-c', 'echo out; echo err >&2; exit 7'], code: 'OK' });
  });

  it.each([
    ['no token', { token: null }, 16],
    ['an unknown token', { token: 'never-issued' }, 16],
  ] as const)('should refuse Exec and Run with %s (the auth guard), running nothing', async (_what, auth, code) => {
    const marker = `i21-denied-${randomBytes(3).toString('hex')}`;
    const start = { service: SERVICE, component: 'web', cmd: ['sh', '-c', `echo ${marker} > /tmp/${marker}`], interactive: false, tty: false, user: '', workdir: '', size: undefined };
    const exec = client.raw.exec(client.metadata(auth));
    exec.write({ start });
    const execError = await new Promise<{ code?: number }>((resolve) => {
      exec.on('error', resolve);
      exec.on('data', () => undefined);
    });
    expect(execError.code).toBe(code);
    const run = client.raw.run({ service: SERVICE, component: 'web', cmd: ['true'], image: '', env: [], timeoutSeconds: 0 }, client.metadata(auth));
    const runError = await new Promise<{ code?: number }>((resolve) => {
      run.on('error', resolve);
      run.on('data', () => undefined);
    });
    expect(runError.code).toBe(code);
    expect((await mcp(['exec', `${SERVICE}/web`, '--', 'sh', '-c', `test -e /tmp/${marker}`])).code).toBe(1);
  });

  it('should pass binary output through byte for byte (sha256)', async () => {
    const ran = await mcp(['exec', `${SERVICE}/web`, '--', 'sh', '-c', 'head -c 4000000 /dev/urandom > /tmp/b; busybox sha256sum /tmp/b >&2; cat /tmp/b; rm /tmp/b']);
    expect(ran.code).toBe(0);
    expect(ran.stdout.length).toBe(4_000_000);
    expect(createHash('sha256').update(ran.stdout).digest('hex')).toBe(ran.stderr.split(' ')[0]);
  });

  it('should stream 64 MiB of stdout with the memory of both ends bounded', async () => {
    const rss = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    const agentPid = node.process!.pid;
    const agentBefore = rss(agentPid);
    let peakAgent = agentBefore;
    let peakCli = 0;
    const child = spawn(process.execPath, [MCP, 'exec', `${SERVICE}/web`, '--', 'head', '-c', String(64 * 1024 * 1024), '/dev/zero'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let bytes = 0;
    const sampler = setInterval(() => {
      peakAgent = Math.max(peakAgent, rss(agentPid));
      if (child.pid) peakCli = Math.max(peakCli, rss(child.pid));
    }, 50);
    // A slow reader: the pipe fills, mcp stops reading the call, the agent stops reading podman.
    child.stdout.on('data', (data: Buffer) => {
      bytes += data.length;
      child.stdout.pause();
      setTimeout(() => child.stdout.resume(), 1);
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearInterval(sampler);
    expect(code).toBe(0);
    expect(bytes).toBe(64 * 1024 * 1024);
    expect(peakAgent - agentBefore).toBeLessThan(40 * 1024 * 1024);
    expect(peakCli).toBeLessThan(160 * 1024 * 1024);
  });

  it('should end the command when the client dies mid-exec', async () => {
    // A duration no other test uses names the process.
    const marker = String(1000 + randomBytes(2).readUInt16BE(0));
    const child = spawn(process.execPath, [MCP, 'exec', `${SERVICE}/web`, '--', 'sh', '-c', `echo ready; exec sleep ${marker}`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve) => child.stdout.on('data', (data: Buffer) => data.toString().includes('ready') && resolve()));
    const running = async (): Promise<boolean> => (await mcp(['exec', `${SERVICE}/web`, '--', 'sh', '-c', `ps -o args | grep -v grep | grep -q "^sleep ${marker}$"`])).code === 0;
    expect(await running()).toBe(true);
    child.kill('SIGKILL');
    const deadline = Date.now() + 20_000;
    while ((await running()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await running()).toBe(false);
    const line = node.process!.logs().split('\n').find((text) => text.includes('"method":"Exec"') && text.includes(`"argv":["sh","-c","echo ready; exec sleep ${marker}"]`));
    expect(JSON.parse(line!)).toMatchObject({ code: 'CANCELLED' });
  });

  it('should pass stdin with -i', async () => {
    const ran = await mcp(['exec', '-i', `${SERVICE}/web`, '--', 'sh', '-c', 'cat; echo " and done"'], 'piped in');
    expect(ran.stdout.toString()).toBe('piped in and done\n');
    expect(ran.code).toBe(0);
  });

  it('should exit 127 for a command that does not exist and 126 for one that cannot run, as podman', async () => {
    const missing = await mcp(['exec', `${SERVICE}/web`, '--', 'no-such-command']);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain('no-such-command');
    expect((await mcp(['exec', `${SERVICE}/web`, '--', '/etc/passwd'])).code).toBe(126);
  });

  it('should refuse an unknown component, an unknown service and a stopped component in one line each', async () => {
    const unknown = await mcp(['exec', '--node', 'local', `${SERVICE}/nope`, '--', 'true']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toMatch(new RegExp(`^mcp: .*component "${SERVICE}/nope" not found \\(components: (web, db|db, web)\\)$`));
    const noService = await mcp(['exec', '--node', 'local', 'i21nosuch/web', '--', 'true']);
    expect(noService.code).toBe(1);
    expect(noService.stderr.trim().split('\n')).toHaveLength(1);
    const stopped = await mcp(['exec', '--node', 'local', `${STOPPED}/web`, '--', 'true']);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr.trim()).toMatch(/^mcp: .*is not running$/);
    const noCommand = await mcp(['exec', `${SERVICE}/web`]);
    expect(noCommand.code).toBe(2);
  });

  it("should give the command a terminal of the operator's size (in a real pty)", async () => {
    const ran = await inTerminal(`exec ${SERVICE}/web -- sh -c 'busybox stty size; tty'`);
    expect(ran.code).toBe(0);
    expect(ran.stdout.toString()).toMatch(/31 97\r+\n\/dev\/pts\/\d+\r+\n/);
  });

  it('should forward Ctrl-C to the command through the terminal', async () => {
    let sent = false;
    const ran = await inTerminal(
      `exec ${SERVICE}/web -- sh -c 'trap "echo got-INT; exit 9" INT; echo ready; while true; do sleep 1; done'`,
      (text, child) => {
        if (!sent && text.includes('ready')) {
          sent = true;
          child.stdin?.write('\u0003');
        }
      },
    );
    expect(ran.stdout.toString()).toContain('got-INT');
    expect(ran.code).toBe(9);
  });
});
