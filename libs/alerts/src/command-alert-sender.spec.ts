import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Alert } from './alert-sender';
import { CommandAlertSender } from './command-alert-sender';

const alert: Alert = {
  kind: 'drift',
  node: 'node-a',
  service: 'mc-proxy',
  component: 'web',
  desired: 'running',
  observed: 'exited',
  message: 'desired running, observed exited; it\'s "quoted" $HOME',
  time: new Date('2026-11-23T00:00:00Z'),
};

/** Running, sleeping or stopped; a zombie (killed, not yet reaped by init) counts as gone. */
function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

describe(CommandAlertSender.name, () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-alert-'));
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function script(name: string, body: string): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    return file;
  }

  describe('send', () => {
    it('should run the command with every MCP_ALERT_* variable and the agent environment', async () => {
      const out = path.join(dir, 'env.txt');
      const sut = new CommandAlertSender({
        command: [script('dump.sh', 'env > "$1"'), out],
        timeoutMs: 10_000,
        baseEnv: { PATH: process.env.PATH, AGENT_OWN: 'kept' },
      });

      await sut.send(alert);

      const env = Object.fromEntries(
        fs
          .readFileSync(out, 'utf8')
          .split('\n')
          .filter((line) => line.includes('='))
          .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
      );
      expect(env).toMatchObject({
        MCP_ALERT_KIND: 'drift',
        MCP_ALERT_NODE: 'node-a',
        MCP_ALERT_SERVICE: 'mc-proxy',
        MCP_ALERT_COMPONENT: 'web',
        MCP_ALERT_DESIRED: 'running',
        MCP_ALERT_OBSERVED: 'exited',
        MCP_ALERT_MESSAGE: alert.message,
        AGENT_OWN: 'kept',
      });
    });

    it('should pass arguments without a shell', async () => {
      const out = path.join(dir, 'args.txt');
      const sut = new CommandAlertSender({
        command: [script('args.sh', 'printf "%s\\n" "$@" > "$1"'), out, '$(touch injected)', 'a b;c'],
        timeoutMs: 10_000,
        baseEnv: { PATH: process.env.PATH },
      });

      await sut.send(alert);

      expect(fs.readFileSync(out, 'utf8').split('\n').slice(1, 3)).toEqual(['$(touch injected)', 'a b;c']);
      expect(fs.existsSync(path.join(dir, 'injected'))).toBe(false);
    });

    it('should kill a hanging command and everything it started at the timeout', async () => {
      const pidFile = path.join(dir, 'pid');
      const sut = new CommandAlertSender({
        command: [script('hang.sh', 'sleep 300 & echo $! > "$1"; wait'), pidFile],
        timeoutMs: 300,
        baseEnv: { PATH: process.env.PATH },
      });

      await sut.send(alert);

      const sleeper = Number(fs.readFileSync(pidFile, 'utf8').trim());
      expect(sleeper).toBeGreaterThan(0);
      expect(isAlive(sleeper)).toBe(false);
    });

    it('should resolve when the command fails or does not exist', async () => {
      const failing = new CommandAlertSender({ command: [script('fail.sh', 'exit 3')], timeoutMs: 10_000, baseEnv: {} });
      const missing = new CommandAlertSender({ command: [path.join(dir, 'nope')], timeoutMs: 10_000, baseEnv: {} });

      await expect(failing.send(alert)).resolves.toBeUndefined();
      await expect(missing.send(alert)).resolves.toBeUndefined();
    });
  });
});
