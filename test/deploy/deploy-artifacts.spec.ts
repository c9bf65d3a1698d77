import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { loadAgentConfig } from '../../apps/agent/src/config/config-loader';
import { loadCliConfig } from '../../apps/cli/src/config/cli-config';

const run = promisify(execFile);
const deployDir = path.resolve(__dirname, '..', '..', 'deploy');

describe('deploy/ artifacts', () => {
  describe('example configs', () => {
    it('should load deploy/mcp-agent.toml with the agent config loader', () => {
      const config = loadAgentConfig({ path: path.join(deployDir, 'mcp-agent.toml'), env: {} });

      expect(config.server.grpcAddr).toBe('0.0.0.0:9444');
      expect(config.auth.mode).toBe('mcias');
      expect(config.agent.nodeName).toBe('node1');
      expect(config.monitor.intervalMs).toBe(60_000);
    });

    it('should load deploy/mcp.toml with the CLI config loader', () => {
      const config = loadCliConfig({ file: path.join(deployDir, 'mcp.toml'), env: {}, homeDir: '/home/op', mustExist: true });

      expect(config.nodes.map((n) => n.name)).toEqual(['node1', 'node2']);
      expect(config.nodes[1].serverName).toBe('node2.example.net');
    });
  });

  describe('Prometheus examples (deploy/prometheus)', () => {
    const dir = path.join(deployDir, 'prometheus');

    it('should have alert rules promtool accepts, covering drift, unhealthy, certificate expiry and stale backups', async () => {
      const { stdout } = await run('promtool', ['check', 'rules', path.join(dir, 'mcp-alerts.yml')]);
      expect(stdout).toMatch(/SUCCESS: 5 rules found/);
      const rules = fs.readFileSync(path.join(dir, 'mcp-alerts.yml'), 'utf8');
      for (const name of ['McpComponentDrift', 'McpComponentUnhealthy', 'McpCertificateExpiringSoon', 'McpBackupStale', 'McpAgentDown']) expect(rules).toContain(`alert: ${name}`);
    });

    it('should fire each rule when it should (promtool test rules)', async () => {
      const { stdout } = await run('promtool', ['test', 'rules', path.join(dir, 'mcp-alerts.test.yml')]);
      expect(stdout).toMatch(/SUCCESS/);
    });

    it('should have a scrape config promtool accepts', async () => {
      const { stdout } = await run('promtool', ['check', 'config', path.join(dir, 'prometheus.yml')]);
      expect(stdout).toMatch(/prometheus\.yml is valid/);
    });

    it('should default the agent\'s metrics listener to loopback port 9445, as the scrape example expects', () => {
      const config = loadAgentConfig({ path: path.join(deployDir, 'mcp-agent.toml'), env: {} });
      expect(config.metrics.listen).toBe('127.0.0.1:9445');
    });
  });

  describe('systemd units', () => {
    let dir: string;

    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-units-'));
      // systemd-analyze verify checks that ExecStart exists; point it at a stand-in so the
      // rest of each unit (sections, keys, hardening options) is what gets verified.
      const stub = path.join(dir, 'mcp-agent');
      fs.writeFileSync(stub, '#!/bin/sh\n', { mode: 0o755 });
      for (const name of ['mcp-agent.service', 'mcp-agent-backup.service', 'mcp-agent-backup.timer']) {
        const text = fs
          .readFileSync(path.join(deployDir, name), 'utf8')
          .replaceAll('@MCP_UID@', '1000')
          .replaceAll('@MCP_AGENT_DIR@/bin/mcp-agent-launch', stub)
          .replaceAll('@MCP_AGENT_DIR@', dir)
          .replaceAll('/usr/local/bin/mcp-agent', stub);
        fs.writeFileSync(path.join(dir, name), text);
      }
    });

    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('should pass systemd-analyze verify', async () => {
      const units = ['mcp-agent.service', 'mcp-agent-backup.service', 'mcp-agent-backup.timer'].map((n) => path.join(dir, n));
      const result = await run('systemd-analyze', ['verify', ...units]).then(
        (r) => ({ code: 0, stderr: r.stderr }),
        (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
      );

      expect(result).toEqual({ code: 0, stderr: '' });
    });

    it('should carry the hardening SPEC §7 requires', () => {
      const unit = fs.readFileSync(path.join(deployDir, 'mcp-agent.service'), 'utf8');

      for (const line of [
        'User=mcp',
        'ProtectSystem=full',
        'ProtectHome=false',
        'NoNewPrivileges=yes',
        'PrivateTmp=yes',
        'Environment=PATH=',
        'Environment=HOME=',
        'Environment=XDG_RUNTIME_DIR=/run/user/@MCP_UID@',
        // always (SPEC §16): after an upgrade switches `current` the agent exits 0 to be restarted.
        'Restart=always',
        'ReadWritePaths=@MCP_AGENT_DIR@',
        'KillMode=process',
      ]) {
        expect(unit).toContain(line);
      }
    });
  });
});
