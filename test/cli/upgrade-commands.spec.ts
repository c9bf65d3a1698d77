import * as fs from 'node:fs';
import * as path from 'node:path';
import { sha256Hex } from '@mcp/common';
import type { mcpv1 } from '@mcp/proto';
import { AgentClientFactory } from '../../apps/cli/src/client/agent-client';
import { isSkewed } from '../../apps/cli/src/commands/upgrade.commands';
import { cliVersion } from '../../apps/cli/src/version';
import { releaseEntries, tarball } from '../support/tarball';
import { CliSandbox, TWO_NODES } from './fakes/cli-harness';
import { agentError, FakeAgentClientFactory, type NodeScript } from './fakes/fake-agent-client';

const OLD = '0.1.0-aaaaaaaaaaaa';

function status(release: string, good: boolean, extra: Partial<mcpv1.NodeStatusResponse> = {}): mcpv1.NodeStatusResponse {
  return {
    node: 'n', version: release.replace(/-.*$/, ''), startedAt: undefined, uptimeSeconds: 1, containers: 0, runningContainers: 0, cpus: 1,
    memoryTotalBytes: 0, memoryFreeBytes: 0, diskFreeBytes: 0, diskTotalBytes: 0, runtimeVersion: '4', release, releaseGood: good, lastRollback: undefined, cordoned: false, cordonedAt: undefined, cordonedBy: '',
    ...extra,
  };
}

/** NodeStatus answers in turn (the last one repeats); an Error is a failed call (the agent restarting). */
function answers(...list: Array<mcpv1.NodeStatusResponse | Error>) {
  let i = 0;
  return () => list[Math.min(i++, list.length - 1)]!;
}

describe('mcp node upgrade / mcp version', () => {
  let sandbox: CliSandbox;
  let bundleFile: string;
  let bundle: Buffer;
  let NEW: string;

  beforeEach(() => {
    sandbox = new CliSandbox();
    sandbox.writeConfig(TWO_NODES).writeToken();
    bundle = tarball(releaseEntries('0.2.0'));
    NEW = `0.2.0-${sha256Hex(bundle).slice(0, 12)}`;
    bundleFile = path.join(sandbox.configDir, 'bundle.tar.gz');
    fs.writeFileSync(bundleFile, bundle);
  });
  afterEach(() => sandbox.remove());

  const fleet = (scripts: Record<string, NodeScript>) => {
    const factory = new FakeAgentClientFactory(scripts);
    return { factory, overrides: [{ provide: AgentClientFactory, useValue: factory }] };
  };
  const upgrading = (statuses: ReturnType<typeof answers>): NodeScript => ({
    upgradeAgent: () => ({ release: NEW, previousRelease: OLD, version: '0.2.0' }),
    unary: { nodeStatus: statuses },
  });

  it('should send the bundle with its SHA-256 and wait until the new release is good', async () => {
    const { factory, overrides } = fleet({ alpha: upgrading(answers(new Error('restarting'), status(NEW, false), status(NEW, true))) });

    const run = await sandbox.run(['node', 'upgrade', 'alpha', '--bundle', bundleFile], { overrides });

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^alpha: upgraded ${OLD} -> ${NEW} \\(\\d+(\\.\\d)?s\\)$`, 'm'));
    const upload = factory.calls.find((c) => c.method === 'upgradeAgent');
    expect(upload?.request).toEqual({ header: { version: '0.2.0', size: bundle.length, sha256: sha256Hex(bundle) }, chunks: 1 });
  });

  it("should report a rollback with the new release's last output, and stop before the next node", async () => {
    const rollback = { failedRelease: NEW, restoredRelease: OLD, at: undefined, logTail: 'line 1\nError: cannot find module ./gone\n' };
    const { factory, overrides } = fleet({ alpha: upgrading(answers(status(OLD, true, { lastRollback: rollback }))), beta: upgrading(answers(status(NEW, true))) });

    const run = await sandbox.run(['node', 'upgrade', 'alpha', 'beta', '--bundle', bundleFile], { overrides });

    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`alpha: rolled back: ${NEW} never became good in 2 starts; the launcher went back to ${OLD}, which serves again`);
    expect(run.stderr).toContain('  Error: cannot find module ./gone');
    expect(run.stdout).toContain('beta: skipped (an earlier node was rolled back)');
    expect(factory.calls.filter((c) => c.node === 'beta')).toEqual([]);
  });

  it('should say which node refused the bundle and go on to the next', async () => {
    const { overrides } = fleet({
      alpha: { upgradeAgent: () => agentError('alpha', 'INVALID_ARGUMENT', 'SHA-256 of the received bundle (x) does not match the header\'s (y): nothing was switched') },
      beta: upgrading(answers(status(NEW, true))),
    });

    const run = await sandbox.run(['node', 'upgrade', '--all', '--bundle', bundleFile, '--json'], { overrides });

    expect(run.code).toBe(1);
    const out = JSON.parse(run.stdout) as { nodes: Array<{ node: string; result: string; error?: string }> };
    expect(out.nodes.map((n) => [n.node, n.result])).toEqual([
      ['alpha', 'failed'],
      ['beta', 'upgraded'],
    ]);
    expect(out.nodes[0].error).toContain('does not match');
  });

  it('should name an unreachable node and exit 3', async () => {
    const { overrides } = fleet({ alpha: { unreachable: true } });

    const run = await sandbox.run(['node', 'upgrade', 'alpha', '--bundle', bundleFile], { overrides });

    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/alpha: unreachable: agent alpha \(10\.0\.0\.1:9444\) unreachable/);
  });

  it('should report a release that runs but never passes its self-check within --wait', async () => {
    const { overrides } = fleet({ alpha: upgrading(answers(status(NEW, false))) });

    const run = await sandbox.run(['node', 'upgrade', 'alpha', '--bundle', bundleFile, '--wait', '1s'], { overrides });

    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`alpha: not confirmed: ${NEW} runs but has not passed its self-check within 1s`);
  });

  it('should go back one release with --rollback', async () => {
    const { factory, overrides } = fleet({ alpha: { unary: { rollbackAgent: () => ({ release: OLD, previousRelease: NEW }), nodeStatus: answers(status(OLD, true)) } } });

    const run = await sandbox.run(['node', 'upgrade', 'alpha', '--rollback'], { overrides });

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^alpha: back on ${OLD} \\(was ${NEW}\\)`, 'm'));
    expect(factory.calls.map((c) => c.method)).toEqual(['rollbackAgent', 'nodeStatus']);
  });

  it.each([
    [['node', 'upgrade'], /name the nodes to upgrade .* or give --all/],
    [['node', 'upgrade', 'alpha', '--all'], /give node names or --all, not both/],
    [['node', 'upgrade', 'alpha', '--rollback', '--bundle', 'x'], /--rollback .* takes no --bundle/],
    [['node', 'upgrade', 'alpha', '--wait', 'soon'], /--wait must be a duration like 2m/],
  ])('should exit 2 for %j', async (argv, message) => {
    const { factory, overrides } = fleet({});
    const run = await sandbox.run(argv, { overrides });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(factory.calls).toEqual([]);
  });

  it('should refuse a --bundle that is missing or not a bundle, sending nothing', async () => {
    const { factory, overrides } = fleet({});
    fs.writeFileSync(path.join(sandbox.configDir, 'junk.tar.gz'), 'not a tarball');

    const missing = await sandbox.run(['node', 'upgrade', 'alpha', '--bundle', path.join(sandbox.configDir, 'nope.tar.gz')], { overrides });
    const junk = await sandbox.run(['node', 'upgrade', 'alpha', '--bundle', path.join(sandbox.configDir, 'junk.tar.gz')], { overrides });

    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/--bundle .*nope\.tar\.gz: no such file/);
    expect(junk.code).toBe(1);
    expect(junk.stderr).toMatch(/junk\.tar\.gz is not an agent bundle: not a gzip stream/);
    expect(factory.calls).toEqual([]);
  });

  describe('version', () => {
    it("should print the CLI's and each node's version, warning on a skew of more than one minor", async () => {
      const { overrides } = fleet({ alpha: { unary: { nodeStatus: () => status(`${cliVersion()}-aaaaaaaaaaaa`, true) } }, beta: { unary: { nodeStatus: () => status('9.0.0-bbbbbbbbbbbb', false) } } });

      const run = await sandbox.run(['version'], { overrides });

      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`mcp ${cliVersion()}\n`);
      expect(run.stdout).toMatch(new RegExp(`^alpha\\s+${cliVersion().replace(/\./g, '\\.')}\\s+${cliVersion().replace(/\./g, '\\.')}-aaaaaaaaaaaa\\s+good$`, 'm'));
      expect(run.stdout).toMatch(/^beta\s+9\.0\.0\s+9\.0\.0-bbbbbbbbbbbb\s+starting$/m);
      expect(run.stderr).toContain(`warning: beta runs agent 9.0.0, this CLI is ${cliVersion()}: more than one minor version apart; mcp node upgrade beta`);
      expect(run.stderr).not.toContain('alpha');
    });

    it('should list an unreachable node and exit 3, with --json too', async () => {
      const { overrides } = fleet({ alpha: { unary: { nodeStatus: () => status(`${cliVersion()}-aaaaaaaaaaaa`, true) } }, beta: { unreachable: true } });

      const run = await sandbox.run(['version', '--json'], { overrides });

      expect(run.code).toBe(3);
      const out = JSON.parse(run.stdout) as { cli: string; nodes: Array<{ node: string; skew: boolean }>; errors: Array<{ node: string; kind: string }> };
      expect(out.cli).toBe(cliVersion());
      expect(out.nodes).toEqual([{ node: 'alpha', version: cliVersion(), release: `${cliVersion()}-aaaaaaaaaaaa`, releaseGood: true, skew: false }]);
      expect(out.errors).toEqual([expect.objectContaining({ node: 'beta', kind: 'unreachable' })]);
    });
  });

  it.each([
    ['0.1.0', '0.2.0', false],
    ['0.1.0', '0.3.0', true],
    ['1.4.2', '1.3.9', false],
    ['1.0.0', '2.0.0', true],
    ['0.1.0', 'unknown', true],
  ])('isSkewed(%s, %s) is %s', (a, b, skewed) => {
    expect(isSkewed(a, b)).toBe(skewed);
  });
});
