import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { TestAgent, writeCliConfig, loopbackAddress } from '../support';

jest.setTimeout(120_000);

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'mcp.js');
const PREFIX = `i20-hp${randomBytes(3).toString('hex')}`;
const SERVICE = `${PREFIX}-hello`;

/**
 * #20 item 2 with the real agent, real podman and the real `mcp` on a terminal (util-linux
 * `script` gives it a pty): a component whose program listens on a fixed port instead of
 * $PORT shows its health wait as it goes, and the failure names the port the container does
 * listen on.
 */
describe('deploy progress while the health gate waits (real agent, real podman, real mcp on a pty)', () => {
  let agent: TestAgent;
  let home: string;

  beforeAll(async () => {
    agent = await TestAgent.create();
    await agent.start();
    home = path.join(agent.dir, 'home');
    const configDir = path.join(home, '.config', 'mcp');
    const services = path.join(configDir, 'services');
    fs.mkdirSync(configDir, { recursive: true });
    fs.mkdirSync(services, { recursive: true });
    writeCliConfig(configDir, { caCertPath: agent.caCertPath, nodes: [{ name: 'local', address: loopbackAddress(agent.process!.address) }] });
    fs.writeFileSync(
      path.join(services, `${SERVICE}.toml`),
      [
        `name = "${SERVICE}"`,
        'node = "local"',
        'active = true',
        '',
        '[[components]]',
        'name = "web"',
        'image = "localhost/mcp-test/busybox:1.0"',
        // The bug the issue describes: a fixed port, $PORT ignored.
        'cmd = ["/bin/sh", "-c", "mkdir -p /www && exec httpd -f -p 8080 -h /www"]',
        '',
        '[[components.routes]]',
        'port = 443',
        'mode = "l4"',
        '',
        '[components.health]',
        'tcp = true',
        'interval = "300ms"',
        'start_period = "4s"',
        '',
      ].join('\n'),
    );
  });

  afterAll(async () => {
    await agent?.dispose({ containerPrefix: PREFIX });
  });

  it('should show "web: waiting for health (tcp 127.0.0.1:PORT) Ns/4s" and name the port the container listens on', async () => {
    // `script -qefc CMD /dev/null` (util-linux): CMD on a pseudo-terminal, its stdout and
    // stderr (with the progress line's \r and erase codes) on our stdout, its exit code ours.
    const command = [process.execPath, BIN, 'deploy', SERVICE].map((a) => `'${a}'`).join(' ');
    const result = await run('script', ['-qefc', command, '/dev/null'], { env: { PATH: process.env.PATH, HOME: home, TERM: 'dumb' } }).catch(
      (err: { code: number; stdout: string }) => ({ stdout: err.stdout, code: err.code }),
    );
    const output = result.stdout;
    const progress = /web: waiting for health \(tcp 127\.0\.0\.1:(\d+)\) ([0-4])s\/4s/.exec(output);
    expect(progress).not.toBeNull();
    const port = progress![1];
    expect(output).toContain(`nothing listens on $PORT=${port}; the container listens on 8080 — does the program read $PORT?`);
    expect((result as { code?: number }).code).toBe(1);
  });

  it('should print no progress codes when stderr is not a terminal', async () => {
    const result = await run(process.execPath, [BIN, 'deploy', SERVICE, '--force'], { env: { PATH: process.env.PATH, HOME: home } }).catch(
      (err: { stdout: string; stderr: string }) => err,
    );
    expect(result.stderr).not.toContain('waiting for health');
    expect(result.stderr + result.stdout).toContain('the container listens on 8080');
  });
});
