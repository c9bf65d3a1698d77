import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePortSync } from '../support/test-config';

const ROOT = path.resolve(__dirname, '..', '..');
const SCRIPT = path.join(ROOT, 'scripts', 'quickstart.sh');
/** Never the default 9445: other agents on this machine may hold it. */
const METRICS_PORT = freePortSync();

function getText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

function quickstart(
  dir: string,
  port: number,
  args: string[] = [],
  metricsPort = METRICS_PORT,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(SCRIPT, args, {
      cwd: ROOT,
      env: { ...process.env, MCP_QUICKSTART_DIR: dir, MCP_QUICKSTART_PORT: String(port), MCP_QUICKSTART_METRICS_PORT: String(metricsPort) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** The README's quick start as a new user runs it: up, down, and up again (issue #12). */
describe('scripts/quickstart.sh (real agent, real podman)', () => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'i12-quickstart-')), 'state');
  const port = freePortSync();

  afterAll(async () => {
    await quickstart(dir, port, ['--purge']);
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  });

  it('should come up, go down, and come up again from the same state directory', async () => {
    const first = await quickstart(dir, port);
    expect(first.output).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/ -> hello from mcp-test busybox 1\.0/);
    expect(first.code).toBe(0);
    // The agent runs with the memory settings of bin/mcp-agent.js's #! line, and serves metrics
    // on the port it was given.
    const pid = fs.readFileSync(path.join(dir, 'agent.pid'), 'utf8').trim();
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    expect(cmdline).toContain('--max-semi-space-size=1');
    // The same release layout as a node's (SPEC §16): the launcher started `current`.
    const current = fs.readlinkSync(path.join(dir, 'agent', 'current'));
    expect(current).toMatch(/^releases\/\d+\.\d+\.\d+-[0-9a-f]{12}$/);
    expect(cmdline).toContain(path.join(dir, 'agent', current, 'bin', 'mcp-agent.js'));
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'agent', 'boot.json'), 'utf8'))).toMatchObject({ release: path.basename(current), good: true });
    expect(await getText(`http://127.0.0.1:${METRICS_PORT}/metrics`)).toContain('mcp_component_state{service="hello",component="web"');

    const down = await quickstart(dir, port, ['--down']);
    expect(down.code).toBe(0);
    expect(fs.existsSync(path.join(dir, 'agent.pid'))).toBe(false);

    // The agent log still holds the first run's "listening" line: the second run must wait
    // for its own agent, not take the old line for readiness.
    const second = await quickstart(dir, port);
    expect(second.output).not.toContain('unreachable');
    expect(second.output).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/ -> hello from mcp-test busybox 1\.0/);
    expect(second.code).toBe(0);
  }, 600_000);

  it('should apply changed MCP_QUICKSTART_PORT / MCP_QUICKSTART_METRICS_PORT to the existing config on a re-run (#20 item 3)', async () => {
    // The state directory of the test above, with its agent running: down first, as the user did.
    expect((await quickstart(dir, port, ['--down'])).code).toBe(0);
    const newPort = freePortSync();
    const newMetricsPort = freePortSync();
    // Something else now holds the old metrics port: an agent started on the old config fails.
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(METRICS_PORT, '127.0.0.1', resolve));
    try {
      const third = await quickstart(dir, newPort, [], newMetricsPort);
      expect(third.output).toContain(`applied to ${path.join(dir, 'agent.toml')}: listen = "127.0.0.1:${newMetricsPort}"`);
      expect(third.output).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/ -> hello from mcp-test busybox 1\.0/);
      expect(third.code).toBe(0);
      expect(await getText(`http://127.0.0.1:${newMetricsPort}/metrics`)).toContain('mcp_component_state{service="hello"');
      expect(fs.readFileSync(path.join(dir, 'mcp.toml'), 'utf8')).toContain(`address = "localhost:${newPort}"`);

      // Changed again while the agent runs: the agent is restarted on the new ports.
      const pid = fs.readFileSync(path.join(dir, 'agent.pid'), 'utf8').trim();
      const fourthPort = freePortSync();
      const fourth = await quickstart(dir, fourthPort, [], newMetricsPort);
      expect(fourth.output).toContain(`restarting the agent (pid ${pid}) on the new ports`);
      expect(fourth.code).toBe(0);
      expect(fs.readFileSync(path.join(dir, 'agent.toml'), 'utf8')).toContain(`grpc_addr = "127.0.0.1:${fourthPort}"`);
    } finally {
      squatter.close();
    }
  }, 600_000);
});
