import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { Clock, UnauthenticatedError } from '@mcp/common';
import { loadServiceFile } from '@mcp/servicedef';
import type { mcpv1 } from '@mcp/proto';
import { IdentityLogin } from '../../apps/cli/src/auth/identity-login';
import { AgentClientFactory } from '../../apps/cli/src/client/agent-client';
import { runCli } from '../../apps/cli/src/cli';
import { Editor } from '../../apps/cli/src/edit/editor';
import { WorkstationImages, type SavedBlob, type SavedImage } from '../../apps/cli/src/images/workstation-images';
import { CliSandbox, NOTES_TOML, TWO_NODES } from './fakes/cli-harness';
import { FakeAgentClientFactory, NodeScript, agentError } from './fakes/fake-agent-client';
import { FakeIdentityLogin } from './fakes/fake-identity-login';

const NOW = new Date('2026-11-23T12:00:00Z');
class FixedClock extends Clock {
  now(): Date {
    return NOW;
  }
}

const ESC = '\u001b[';

function seconds(date: Date) {
  return { seconds: Math.floor(date.getTime() / 1000), nanos: 0 };
}

function result(component: string, ok = true, error = ''): mcpv1.ComponentResult {
  return { component, ok, error, container: component === 'notes' ? 'notes' : `notes-${component}` };
}

const listAlpha: mcpv1.ListServicesResponse = {
  node: 'alpha',
  cordoned: false,
  services: [
    {
      name: 'notes',
      active: true,
      spec: undefined,
      components: [
        {
          name: 'notes',
          image: 'localhost/mcp-test/busybox:1.0',
          desiredState: 'running',
          observedState: 'running',
          version: '1.0',
          routes: [{ name: '', port: 443, mode: 'l4', hostname: 'notes.svc.test', hostPort: 32070 }],
          updatedAt: undefined,
          container: 'notes',
        },
      ],
    },
  ],
};

const liveAlpha: mcpv1.LiveCheckResponse = {
  node: 'alpha',
  cordoned: false,
  containers: [
    {
      service: 'notes',
      component: 'notes',
      container: 'notes',
      state: 'running',
      image: 'localhost/mcp-test/busybox:1.0',
      version: '1.0',
      startedAt: seconds(new Date(NOW.getTime() - (2 * 86400 + 16 * 3600 + 5) * 1000)),
      desiredState: 'running',
      id: 'abc',
      health: 'healthy',
    },
  ],
  // A job's one-off container while it runs (SPEC §12 KIND).
  oneOffs: [
    {
      service: 'notes',
      component: 'report',
      container: 'notes-notes-run-0a1b2c3d',
      state: 'running',
      image: 'localhost/mcp-test/busybox:1.0',
      version: '1.0',
      startedAt: seconds(new Date(NOW.getTime() - 12 * 1000)),
      desiredState: '',
      id: '',
      health: '-',
      kind: 'job',
    },
  ],
};

const liveBeta: mcpv1.LiveCheckResponse = {
  node: 'beta',
  cordoned: false,
  containers: [
    {
      service: 'mc-proxy',
      component: 'mc-proxy',
      container: 'mc-proxy',
      state: 'running',
      image: 'mcr/mc-proxy:2.1',
      version: '2.1',
      startedAt: seconds(new Date(NOW.getTime() - 12_000)),
      desiredState: 'running',
      id: 'def',
    },
  ],
  oneOffs: [],
};

const statusAlpha: mcpv1.GetServiceStatusResponse = {
  node: 'alpha',
  components: [
    { service: 'notes', component: 'notes', desiredState: 'running', observedState: 'exited', version: '1.0', drift: true, container: 'notes', driftFields: [] },
    {
      service: 'notes',
      component: 'worker',
      desiredState: 'running',
      observedState: 'running',
      version: '1.0',
      drift: true,
      container: 'notes-worker',
      driftFields: ['replaced by hand: the container has no mcp.managed label (run by hand, not by MCP)', 'image: localhost/mcp-test/busybox:1.0 → localhost/mcp-test/busybox:2.0'],
      health: 'unhealthy',
    },
  ],
  events: [
    { time: seconds(new Date('2026-11-23T11:00:00Z')), service: 'notes', component: 'notes', kind: 'drift', message: 'running -> exited', fromState: 'running', toState: 'exited' },
  ],
};

describe('mcp (CLI commands)', () => {
  let sandbox: CliSandbox;

  beforeEach(() => {
    sandbox = new CliSandbox();
  });

  afterEach(() => {
    sandbox.remove();
  });

  function fleet(scripts: Record<string, NodeScript>) {
    const factory = new FakeAgentClientFactory(scripts);
    return { factory, overrides: [{ provide: AgentClientFactory, useValue: factory }, { provide: Clock, useClass: FixedClock }] };
  }

  function ready() {
    sandbox.writeConfig(TWO_NODES).writeToken();
  }

  describe('usage', () => {
    it('should print help listing every command and exit 0', async () => {
      const run = await sandbox.run(['--help']);
      expect(run.code).toBe(0);
      for (const name of ['login', 'deploy', 'stop', 'start', 'restart', 'undeploy', 'list', 'ps', 'status', 'sync', 'adopt', 'purge', 'service', 'push', 'pull', 'logs', 'exec', 'run', 'jobs', 'events', 'node', 'completion']) {
        expect(run.stdout).toMatch(new RegExp(`^\\s+${name}\\b`, 'm'));
      }
      expect(run.stdout).toContain('--json');
    });

    it.each([
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['deploy'], /missing required argument 'target'/],
      [['deploy', 'Notes!'], /invalid name "Notes!"/],
      [['stop', 'notes/web'], /invalid target "notes\/web"/],
      [['ps', '--bogus'], /unknown option '--bogus'/],
      [['logs', 'notes', '-n', 'ten'], /--tail must be a non-negative integer/],
      [['events', '--since', 'yesterday'], /--since must be a duration like 10m/],
      [['events', 'notes/web'], /invalid target "notes\/web"/],
      [['events', '-n', 'many'], /--limit must be a non-negative integer/],
      [['ps', 'extra'], /too many arguments/],
      [['completion', 'fish'], /unsupported shell "fish"/],
      [['node', 'frob'], /unknown action "frob"|too many arguments|unknown command/],
    ])('should exit 2 for %j', async (argv, message) => {
      ready();
      const run = await sandbox.run(argv, fleet({}));
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    });

    it('should print the version', async () => {
      const run = await sandbox.run(['--version']);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^\d+\.\d+\.\d+/);
    });
  });

  describe('deploy', () => {
    it('should send the definition to the node named in the file and print a row per component', async () => {
      ready();
      sandbox.writeService('notes', NOTES_TOML);
      const { factory, overrides } = fleet({ alpha: { unary: { deploy: () => ({ service: 'notes', results: [result('notes')] }) } } });
      const run = await sandbox.run(['deploy', 'notes', '--force'], { overrides });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/COMPONENT\s+CONTAINER\s+NODE\s+RESULT/);
      expect(run.stdout).toMatch(/notes\s+notes\s+alpha\s+deployed/);
      expect(factory.calls).toHaveLength(1);
      const call = factory.calls[0];
      expect(call).toMatchObject({ node: 'alpha', method: 'deploy', token: 'tok-123' });
      expect(call.request).toMatchObject({
        component: '',
        force: true,
        service: { name: 'notes', active: true, components: [{ name: 'notes', image: 'localhost/mcp-test/busybox:1.0', routes: [{ port: 443, mode: 'l4' }] }] },
      });
      expect(factory.created[0].caCert).toBe(path.join(sandbox.configDir, 'ca.pem'));
    });

    it('should show a progress line on a terminal only', async () => {
      ready();
      sandbox.writeService('notes', NOTES_TOML);
      const { overrides } = fleet({ alpha: { unary: { deploy: () => ({ service: 'notes', results: [result('notes')] }) } } });
      const tty = await sandbox.run(['deploy', 'notes'], { overrides, tty: true });
      expect(tty.code).toBe(0);
      expect(tty.stderr).toContain('deploying notes to alpha...');
      const piped = await sandbox.run(['deploy', 'notes'], { overrides });
      expect(piped.stderr).toBe('');
    });

    it("should show the health gate's wait on a terminal while the deploy runs, and ask nothing more when piped or --json (#20 item 2)", async () => {
      ready();
      sandbox.writeService('notes', NOTES_TOML);
      const waiting: mcpv1.ComponentStatus = {
        service: 'notes', component: 'notes', desiredState: 'running', observedState: 'running', version: '1.0', drift: false, container: 'notes-next', driftFields: [],
        health: 'starting', healthDetail: 'waiting for health (tcp 127.0.0.1:21252) 1s/60s',
      };
      const slowDeploy = () => new Promise((resolve) => setTimeout(() => resolve({ service: 'notes', results: [result('notes')] }), 1600));
      const script = () => ({ alpha: { unary: { deploy: slowDeploy as never, getServiceStatus: () => ({ node: 'alpha', components: [waiting], events: [] }) } } });
      const tty = fleet(script());
      const run = await sandbox.run(['deploy', 'notes'], { overrides: tty.overrides, tty: true });
      expect(run.code).toBe(0);
      expect(run.stderr).toContain('\r\u001b[2Knotes: waiting for health (tcp 127.0.0.1:21252) 1s/60s');
      expect(tty.factory.calls.filter((c) => c.method === 'getServiceStatus')[0]?.request).toMatchObject({ service: 'notes' });
      for (const args of [['deploy', 'notes'], ['deploy', 'notes', '--json']]) {
        const piped = fleet(script());
        const out = await sandbox.run(args, { overrides: piped.overrides });
        expect(out.stderr).toBe('');
        expect(piped.factory.calls.map((c) => c.method)).toEqual(['deploy']);
      }
    });

    it('should exit 1 and name every failed component when the agent reports failures', async () => {
      ready();
      sandbox.writeService('notes', NOTES_TOML);
      const { overrides } = fleet({ alpha: { unary: { deploy: () => ({ service: 'notes', results: [result('notes', false, 'image not found')] }) } } });
      const run = await sandbox.run(['deploy', 'notes/notes'], { overrides });
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/failed: image not found/);
      expect(run.stderr).toMatch(/^mcp: 1 of 1 component\(s\) failed: notes$/m);
    });

    it('should exit 1 naming the file and field when the definition is invalid', async () => {
      ready();
      const file = sandbox.writeService('notes', NOTES_TOML.replace('busybox:1.0', 'busybox:latest').replace('port = 443', 'port = 70000'));
      const { factory, overrides } = fleet({});
      const run = await sandbox.run(['deploy', 'notes'], { overrides });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`${file}: components[0].image:`);
      expect(run.stderr).toContain(`${file}: components[0].routes[0].port:`);
      expect(run.stderr).not.toMatch(/\n\s+at /);
      expect(factory.calls).toHaveLength(0);
    });

    it('should name the file and field when the definition names an unknown node', async () => {
      ready();
      const file = sandbox.writeService('notes', NOTES_TOML.replace('node = "alpha"', 'node = "gamma"'));
      const { factory, overrides } = fleet({});
      const run = await sandbox.run(['deploy', 'notes'], { overrides });
      expect(run.code).toBe(1);
      expect(run.stderr.trim()).toBe(`mcp: ${file}: node: "gamma" is not a node in ${sandbox.configFile}`);
      expect(factory.calls).toHaveLength(0);
    });

    it('should exit 1 with a clear line when there is no definition file', async () => {
      ready();
      const run = await sandbox.run(['deploy', 'ghost'], fleet({}));
      expect(run.code).toBe(1);
      expect(run.stderr.trim()).toBe(`mcp: no definition for "ghost": ${path.join(sandbox.servicesDir, 'ghost.toml')} does not exist`);
    });
  });

  describe('releases, rollback and dry-run (SPEC §8)', () => {
    const specV1: mcpv1.ComponentSpec = { name: 'notes', image: 'localhost/mcp-test/busybox:1.0', network: '', user: '', restart: '', ports: [], volumes: [], cmd: [], routes: [{ name: '', port: 443, mode: 'l4', hostname: '' }], env: [] } as unknown as mcpv1.ComponentSpec;
    const release = (number: number, outcome: string, image: string, extra: Partial<mcpv1.Release> = {}): mcpv1.Release => ({
      number,
      service: 'notes',
      component: 'notes',
      image,
      digest: `sha256:${String(number).repeat(64).slice(0, 64)}`,
      deployedAt: seconds(new Date('2026-11-23T11:00:00Z')),
      deployedBy: 'ops',
      outcome,
      rollbackOf: 0,
      message: '',
      spec: { ...specV1, image },
      ...extra,
    });

    it('should list releases newest first with short digests, outcomes and failure reasons', async () => {
      ready();
      sandbox.writeService('notes', NOTES_TOML);
      const { factory, overrides } = fleet({
        alpha: {
          unary: {
            listReleases: () => ({
              service: 'notes',
              releases: [release(3, 'succeeded', 'localhost/mcp-test/busybox:1.0', { rollbackOf: 1 }), release(2, 'failed', 'localhost/mcp-test/busybox:2.0', { message: 'health check GET /up → 503 after 3s' }), release(1, 'succeeded', 'localhost/mcp-test/busybox:1.0')],
            }),
          },
        },
      });
      const run = await sandbox.run(['releases', 'notes'], { overrides });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^RELEASE\s+COMPONENT\s+IMAGE\s+DIGEST\s+DEPLOYED\s+BY\s+OUTCOME$/m);
      expect(run.stdout).toMatch(/^3\s+notes\s+localhost\/mcp-test\/busybox:1\.0\s+sha256:333333333333\s+2026-11-23 11:00:00Z\s+ops\s+succeeded \(rollback of 1\)$/m);
      expect(run.stdout).toMatch(/^2\s+notes\s+\S+:2\.0\s+sha256:222222222222\s+.*failed$/m);
      expect(run.stdout).toContain('release 2 notes: health check GET /up → 503 after 3s');
      expect(factory.calls[0]).toMatchObject({ node: 'alpha', method: 'listReleases', request: { service: 'notes', component: '' } });

      const json = await sandbox.run(['releases', 'notes/notes', '--json'], { overrides });
      expect(JSON.parse(json.stdout)).toMatchObject({ service: 'notes', node: 'alpha', releases: [{ release: 3, rollbackOf: 1, outcome: 'succeeded', deployedAt: '2026-11-23T11:00:00.000Z' }, { release: 2, outcome: 'failed' }, { release: 1 }] });
      expect(factory.calls[1].request).toEqual({ service: 'notes', component: 'notes' });
    });

    it.each([
      [['rollback', 'notes', '--to', '0'], /--to must be a release number \(a positive integer\), got "0"/],
      [['rollback', 'notes', '--to', 'last'], /--to must be a release number/],
      [['rollback', 'notes', '--to', '-3'], /--to must be a release number|unknown option/],
      [['rollback', 'Notes'], /invalid name "Notes"/],
      [['releases', 'a/b/c'], /invalid target "a\/b\/c"/],
      [['rollback', 'ghost', '--write'], /--write: no definition file .*ghost\.toml to rewrite/],
    ])('should exit 2 for %j without calling the agent', async (argv, message) => {
      ready();
      const { factory, overrides } = fleet({});
      const run = await sandbox.run(argv, { overrides });
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(factory.calls).toHaveLength(0);
    });

    it('should roll back, leave the file alone without --write, and rewrite only that component with --write', async () => {
      ready();
      const text = NOTES_TOML.replace('busybox:1.0"', 'busybox:2.0" # the new one');
      const file = sandbox.writeService('notes', text);
      const { factory, overrides } = fleet({
        alpha: { unary: { rollback: () => ({ service: 'notes', to: 1, specs: [specV1], results: [{ ...result('notes'), release: 4 }] }) } },
      });
      const plain = await sandbox.run(['rollback', 'notes', '--to', '1'], { overrides });
      expect(plain.code).toBe(0);
      expect(plain.stdout).toMatch(/notes\s+notes\s+alpha\s+rolled back to release 1/);
      expect(factory.calls[0].request).toEqual({ service: 'notes', component: '', to: 1 });
      expect(fs.readFileSync(file, 'utf8')).toBe(text);

      const written = await sandbox.run(['rollback', 'notes', '--write'], { overrides });
      expect(written.code).toBe(0);
      expect(factory.calls[1].request).toEqual({ service: 'notes', component: '', to: 0 });
      expect(fs.readFileSync(file, 'utf8')).toBe(NOTES_TOML.replace('busybox:1.0"', 'busybox:1.0" # the new one'));
    });

    it('should exit 1 with the reason and the failed container\'s log lines when a deploy fails', async () => {
      ready();
      sandbox.writeService('notes', NOTES_TOML);
      const failed = { ...result('notes', false, 'health check GET /up → 503 after 3s; the old container kept serving'), release: 7, logTail: 'starting\nbroken build' };
      const { overrides } = fleet({ alpha: { unary: { deploy: () => ({ service: 'notes', results: [failed] }) } } });
      const run = await sandbox.run(['deploy', 'notes'], { overrides });
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/failed: health check GET \/up → 503 after 3s; the old container kept serving/);
      expect(run.stdout).toContain('notes: release 7 failed (mcp releases shows it)');
      expect(run.stdout).toContain('last 2 log line(s) of the failed container of notes:\n  | starting\n  | broken build\n');
    });

    it('should print the plan of a dry run, one changed field a line, and call only PlanDeploy', async () => {
      ready();
      sandbox.writeService('notes', NOTES_TOML);
      const plan = { service: 'notes', components: [{ component: 'notes', action: 'recreate', strategy: 'start-first', changes: ['image: 1.0 → 2.0', 'env: +FOO ~BAR -BAZ'], hook: '["bin/migrate"] (timeout 10m)' }] };
      const { factory, overrides } = fleet({ alpha: { unary: { planDeploy: () => plan } } });
      const run = await sandbox.run(['deploy', 'notes', '--dry-run'], { overrides });
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^COMPONENT\s+ACTION\s+STRATEGY\s+CHANGES$/m);
      expect(run.stdout).toMatch(/^notes\s+recreate\s+start-first\s+image: 1\.0 → 2\.0\n\s+env: \+FOO ~BAR -BAZ$/m);
      expect(run.stdout).toContain('notes: runs the pre_deploy hook ["bin/migrate"] (timeout 10m) first, in a one-off container of the new spec');
      expect(run.stdout).toContain('dry run: nothing was changed on alpha');
      expect(factory.calls.map((c) => c.method)).toEqual(['planDeploy']);
      const json = await sandbox.run(['deploy', 'notes', '--dry-run', '--json'], { overrides });
      expect(JSON.parse(json.stdout)).toEqual({ service: 'notes', node: 'alpha', dryRun: true, components: plan.components });
    });

    it('should say in status when the running release differs from the definition file', async () => {
      ready();
      sandbox.writeService('notes', NOTES_TOML.replace('busybox:1.0', 'busybox:2.0'));
      const { overrides } = fleet({
        alpha: { unary: { getServiceStatus: () => statusAlpha, listReleases: () => ({ service: 'notes', releases: [release(2, 'failed', 'localhost/mcp-test/busybox:2.0'), release(1, 'succeeded', 'localhost/mcp-test/busybox:1.0')] }) } },
        beta: { unary: { getServiceStatus: () => agentError('beta', 'NOT_FOUND', 'beta: service "notes" not found') } },
      });
      const run = await sandbox.run(['status', 'notes'], { overrides });
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^notes\/notes: running release 1 differs from file .*notes\.toml: image: 1\.0 → 2\.0$/m);
      const json = await sandbox.run(['status', 'notes', '--json'], { overrides });
      expect(JSON.parse(json.stdout).fileDiffers).toEqual([{ node: 'alpha', service: 'notes', component: 'notes', release: 1, file: expect.stringMatching(/notes\.toml$/), changes: ['image: 1.0 → 2.0'] }]);

      sandbox.writeService('notes', NOTES_TOML);
      const same = await sandbox.run(['status', 'notes', '--json'], { overrides });
      expect(JSON.parse(same.stdout).fileDiffers).toEqual([]);
    });
  });

  describe('stop and start', () => {
    it('should call the agent and rewrite active in the definition, keeping comments', async () => {
      ready();
      const file = sandbox.writeService('notes', NOTES_TOML);
      const { factory, overrides } = fleet({
        alpha: {
          unary: {
            stopService: () => ({ service: 'notes', results: [result('notes')] }),
            startService: () => ({ service: 'notes', results: [result('notes')] }),
          },
        },
      });
      const stop = await sandbox.run(['stop', 'notes'], { overrides });
      expect(stop.code).toBe(0);
      expect(stop.stdout).toMatch(/notes\s+notes\s+alpha\s+stopped/);
      expect(sandbox.read(file)).toBe(NOTES_TOML.replace('active = true # keep running', 'active = false # keep running'));

      const start = await sandbox.run(['start', 'notes'], { overrides });
      expect(start.code).toBe(0);
      expect(sandbox.read(file)).toBe(NOTES_TOML);
      expect(factory.calls.map((c) => c.method)).toEqual(['stopService', 'startService']);
    });

    it('should print only the result rows with --quiet', async () => {
      ready();
      sandbox.writeService('notes', NOTES_TOML);
      const { overrides } = fleet({ alpha: { unary: { stopService: () => ({ service: 'notes', results: [result('notes')] }) } } });
      const loud = await sandbox.run(['stop', 'notes'], { overrides });
      expect(loud.stdout).toContain('active = false');
      const quiet = await sandbox.run(['stop', '-q', 'notes'], { overrides });
      expect(quiet.code).toBe(0);
      expect(quiet.stdout).not.toContain('active = false');
      expect(quiet.stdout).toMatch(/notes\s+notes\s+alpha\s+stopped/);
    });

    it('should leave the definition alone when the agent call fails', async () => {
      ready();
      const file = sandbox.writeService('notes', NOTES_TOML);
      const { overrides } = fleet({ alpha: { unary: { stopService: () => agentError('alpha', 'NOT_FOUND', 'alpha: service "notes" not found') } } });
      const run = await sandbox.run(['stop', 'notes'], { overrides });
      expect(run.code).toBe(1);
      expect(run.stderr.trim()).toBe('mcp: alpha: service "notes" not found');
      expect(sandbox.read(file)).toBe(NOTES_TOML);
    });

    it.each([
      ['restart', 'restartService', 'restarted'],
      ['undeploy', 'undeployService', 'removed'],
    ] as const)('should %s through the node from the definition file', async (command, method, verb) => {
      ready();
      const file = sandbox.writeService('notes', NOTES_TOML);
      const { factory, overrides } = fleet({ alpha: { unary: { [method]: () => ({ service: 'notes', results: [result('notes')] }) } } });
      const run = await sandbox.run([command, 'notes'], { overrides });
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`notes\\s+notes\\s+alpha\\s+${verb}`));
      expect(factory.calls).toEqual([expect.objectContaining({ node: 'alpha', method, request: { service: 'notes' } })]);
      expect(sandbox.read(file)).toBe(NOTES_TOML);
    });
  });

  describe('list, ps and status', () => {
    it('should list services from every node', async () => {
      ready();
      const { overrides } = fleet({ alpha: { unary: { listServices: () => listAlpha } }, beta: { unary: { listServices: () => ({ node: 'beta', services: [], cordoned: false }) } } });
      const run = await sandbox.run(['list'], { overrides });
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^SERVICE\s+COMPONENT\s+NODE\s+DESIRED\s+OBSERVED\s+VERSION\s+ROUTES$/m);
      expect(run.stdout).toMatch(/^notes\s+notes\s+alpha\s+running\s+running\s+1\.0\s+443\/l4→32070$/m);
    });

    it('should print list --json in its documented shape', async () => {
      ready();
      const { overrides } = fleet({ alpha: { unary: { listServices: () => listAlpha } }, beta: { unreachable: true } });
      const run = await sandbox.run(['list', '--json'], { overrides });
      expect(run.code).toBe(3);
      expect(JSON.parse(run.stdout)).toEqual({
        cordonedNodes: [],
        services: [
          {
            node: 'alpha',
            nodeCordoned: false,
            service: 'notes',
            active: true,
            component: 'notes',
            image: 'localhost/mcp-test/busybox:1.0',
            desired: 'running',
            observed: 'running',
            version: '1.0',
            routes: [{ name: '', port: 443, mode: 'l4', hostname: 'notes.svc.test', hostPort: 32070 }],
          },
        ],
        errors: [{ node: 'beta', kind: 'unreachable', error: 'agent beta (10.0.0.2:9444) unreachable: connect ECONNREFUSED' }],
      });
    });

    it('should print ps with uptimes from both nodes', async () => {
      ready();
      const { overrides } = fleet({ alpha: { unary: { liveCheck: () => liveAlpha } }, beta: { unary: { liveCheck: () => liveBeta } } });
      const run = await sandbox.run(['ps'], { overrides });
      expect(run.code).toBe(0);
      const lines = run.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^SERVICE\s+COMPONENT\s+KIND\s+NODE\s+STATE\s+HEALTH\s+VERSION\s+UPTIME$/);
      expect(lines).toContainEqual(expect.stringMatching(/^notes\s+notes\s+service\s+alpha\s+running\s+healthy\s+1\.0\s+2d16h$/));
      expect(lines).toContainEqual(expect.stringMatching(/^notes\s+report\s+job\s+alpha\s+running\s+-\s+1\.0\s+12s$/));
      // An agent that reports no health (older, or not probed yet) shows -.
      expect(lines).toContainEqual(expect.stringMatching(/^mc-proxy\s+mc-proxy\s+service\s+beta\s+running\s+-\s+2\.1\s+12s$/));
      // columns are aligned: every row's NODE column starts at the same offset
      const offsets = lines.map((line) => line.search(/\b(NODE|alpha|beta)\b/));
      expect(new Set(offsets).size).toBe(1);
    });

    it('should exit 3 naming the unreachable node while still showing the other node', async () => {
      ready();
      const { overrides } = fleet({ alpha: { unary: { liveCheck: () => liveAlpha } }, beta: { unreachable: true } });
      const run = await sandbox.run(['ps'], { overrides });
      expect(run.code).toBe(3);
      expect(run.stdout).toMatch(/^notes\s+notes\s+service\s+alpha\s+running/m);
      expect(run.stdout).toMatch(/^-\s+-\s+-\s+beta\s+unreachable/m);
      expect(run.stderr.trim()).toBe('mcp: agent beta (10.0.0.2:9444) unreachable: connect ECONNREFUSED');
    });

    it('should exit 1 when one node is unreachable and another fails otherwise', async () => {
      ready();
      const { overrides } = fleet({ alpha: { unary: { liveCheck: () => agentError('alpha', 'UNAVAILABLE', 'alpha: podman is not answering') } }, beta: { unreachable: true } });
      const run = await sandbox.run(['ps'], { overrides });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('alpha: podman is not answering');
      expect(run.stderr).toContain('agent beta (10.0.0.2:9444) unreachable');
    });

    it('should print ps --json in its documented shape', async () => {
      ready();
      const { overrides } = fleet({ alpha: { unary: { liveCheck: () => liveAlpha } }, beta: { unary: { liveCheck: () => ({ node: 'beta', containers: [], oneOffs: [], cordoned: false }) } } });
      const run = await sandbox.run(['ps', '--json'], { overrides });
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual({
        cordonedNodes: [],
        containers: [
          {
            node: 'alpha',
            nodeCordoned: false,
            service: 'notes',
            component: 'notes',
            kind: 'service',
            container: 'notes',
            state: 'running',
            health: 'healthy',
            image: 'localhost/mcp-test/busybox:1.0',
            version: '1.0',
            desired: 'running',
            startedAt: '2026-11-20T19:59:55.000Z',
            uptimeSeconds: 2 * 86400 + 16 * 3600 + 5,
          },
          expect.objectContaining({ node: 'alpha', service: 'notes', component: 'report', kind: 'job', container: 'notes-notes-run-0a1b2c3d', state: 'running', uptimeSeconds: 12 }),
        ],
        errors: [],
      });
    });

    it('should mark drifted rows and print recent events in status', async () => {
      ready();
      const { factory, overrides } = fleet({
        alpha: { unary: { getServiceStatus: () => statusAlpha } },
        beta: { unary: { getServiceStatus: () => agentError('beta', 'NOT_FOUND', 'beta: service "notes" not found') } },
      });
      const run = await sandbox.run(['status', 'notes'], { overrides });
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^\s*SERVICE\s+COMPONENT\s+NODE\s+DESIRED\s+OBSERVED\s+HEALTH\s+VERSION\s+RELEASE$/m);
      expect(run.stdout).toMatch(/^\* notes\s+notes\s+alpha\s+running\s+exited\s+-\s+1\.0\s+-$/m);
      expect(run.stdout).toMatch(/^\* notes\s+worker\s+alpha\s+running\s+running\s+unhealthy\s+1\.0\s+-$/m);
      expect(run.stdout).toContain(
        'DRIFT\nnotes/worker  alpha  replaced by hand: the container has no mcp.managed label (run by hand, not by MCP)\nnotes/worker  alpha  image: localhost/mcp-test/busybox:1.0 → localhost/mcp-test/busybox:2.0\n',
      );
      expect(run.stdout).toMatch(/RECENT EVENTS\n2026-11-23T11:00:00.000Z {2}alpha {2}notes {2}drift: running -> exited/);
      expect(factory.calls.map((c) => c.request)).toEqual([
        { service: 'notes', eventLimit: 10 },
        { service: 'notes', eventLimit: 10 },
      ]);
    });

    it('should print status --json in its documented shape', async () => {
      ready();
      const { overrides } = fleet({ alpha: { unary: { getServiceStatus: () => statusAlpha } }, beta: { unary: { getServiceStatus: () => ({ node: 'beta', components: [], events: [] }) } } });
      const run = await sandbox.run(['status', '--json'], { overrides });
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual({
        components: [
          { node: 'alpha', service: 'notes', component: 'notes', desired: 'running', observed: 'exited', health: '-', version: '1.0', release: 0, drift: true, driftFields: [] },
          {
            node: 'alpha',
            service: 'notes',
            component: 'worker',
            desired: 'running',
            observed: 'running',
            health: 'unhealthy',
            version: '1.0',
            release: 0,
            drift: true,
            driftFields: statusAlpha.components[1].driftFields,
          },
        ],
        events: [{ node: 'alpha', time: '2026-11-23T11:00:00.000Z', service: 'notes', component: 'notes', kind: 'drift', message: 'running -> exited' }],
        errors: [],
      });
    });
  });

  describe('authentication', () => {
    it('should exit 4 with "run mcp login" when the token is rejected', async () => {
      ready();
      const { overrides } = fleet({ alpha: { tokenRejected: true }, beta: { tokenRejected: true } });
      const run = await sandbox.run(['ps'], { overrides });
      expect(run.code).toBe(4);
      expect(run.stderr).toContain('mcp: token rejected by alpha: run mcp login');
    });

    it('should exit 4 "not logged in" when there is no token file, without calling any agent', async () => {
      sandbox.writeConfig(TWO_NODES);
      const { factory, overrides } = fleet({});
      const run = await sandbox.run(['list'], { overrides });
      expect(run.code).toBe(4);
      expect(run.stderr.trim()).toBe('mcp: not logged in: run mcp login');
      expect(factory.calls).toHaveLength(0);
    });

    it('should warn when the token file is readable by others', async () => {
      ready();
      fs.chmodSync(sandbox.tokenFile, 0o644);
      const { overrides } = fleet({ alpha: { unary: { liveCheck: () => liveAlpha } }, beta: { unary: { liveCheck: () => liveBeta } } });
      const run = await sandbox.run(['ps'], { overrides });
      expect(run.code).toBe(0);
      expect(run.stderr).toMatch(/warning: token file .* has mode 0644/);
    });
  });

  describe('login', () => {
    const mcias = `[mcias]\nserver_url = "https://mcias.example.net"\nservice_name = "mcp"\n`;

    it('should read the password from stdin when it is not a terminal and store the token 0600', async () => {
      sandbox.writeConfig(mcias);
      const identity = new FakeIdentityLogin({ username: 'ops', password: 's3cret', token: 'jwt-abc' });
      const run = await sandbox.run(['login', '--username', 'ops'], { stdin: 's3cret\n', overrides: [{ provide: IdentityLogin, useValue: identity }] });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(fs.readFileSync(sandbox.tokenFile, 'utf8')).toBe('jwt-abc\n');
      expect(fs.statSync(sandbox.tokenFile).mode & 0o777).toBe(0o600);
      expect(identity.attempts).toEqual([
        { serverUrl: 'https://mcias.example.net', caCert: undefined, serviceName: 'mcp', username: 'ops', password: 's3cret', totpCode: undefined },
      ]);
      expect(run.stdout).not.toContain('s3cret');
    });

    it('should ask for a TOTP code when MCIAS needs one', async () => {
      sandbox.writeConfig(mcias);
      const identity = new FakeIdentityLogin({ username: 'ops', password: 's3cret', totp: '123456', token: 'jwt-totp' });
      const run = await sandbox.run(['login', '-u', 'ops'], { stdin: 's3cret\n123456\n', overrides: [{ provide: IdentityLogin, useValue: identity }] });
      expect(run.code).toBe(0);
      expect(identity.attempts.map((a) => a.totpCode)).toEqual([undefined, '123456']);
      expect(fs.readFileSync(sandbox.tokenFile, 'utf8')).toBe('jwt-totp\n');
    });

    it('should exit 4 and store nothing on bad credentials', async () => {
      sandbox.writeConfig(mcias);
      const identity = new FakeIdentityLogin({ username: 'ops', password: 's3cret', token: 'jwt' });
      const run = await sandbox.run(['login', '-u', 'ops'], { stdin: 'wrong\n', overrides: [{ provide: IdentityLogin, useValue: identity }] });
      expect(run.code).toBe(4);
      expect(run.stderr.trim()).toBe('mcp: invalid username or password');
      expect(fs.existsSync(sandbox.tokenFile)).toBe(false);
    });

    it('should store a static token from --token-file', async () => {
      const source = path.join(sandbox.home, 'static-token');
      fs.writeFileSync(source, 'static-tok\n');
      const unused = new FakeIdentityLogin({ username: 'x', password: 'y', token: 'z' });
      const run = await sandbox.run(['login', '--token-file', source], { overrides: [{ provide: IdentityLogin, useValue: unused }] });
      expect(run.code).toBe(0);
      expect(fs.readFileSync(sandbox.tokenFile, 'utf8')).toBe('static-tok\n');
      expect(fs.statSync(sandbox.tokenFile).mode & 0o777).toBe(0o600);
      expect(unused.attempts).toHaveLength(0);
    });
  });

  describe('colour', () => {
    function psFleet() {
      return fleet({ alpha: { unary: { liveCheck: () => liveAlpha } }, beta: { unary: { liveCheck: () => liveBeta } } });
    }

    it('should print no escape codes when stdout is not a terminal', async () => {
      ready();
      const run = await sandbox.run(['ps'], { overrides: psFleet().overrides });
      expect(run.stdout).not.toContain(ESC);
    });

    it('should colour on a terminal', async () => {
      ready();
      const run = await sandbox.run(['ps'], { overrides: psFleet().overrides, tty: true });
      expect(run.stdout).toContain(`${ESC}32mrunning${ESC}39m`);
    });

    it.each([[{ NO_COLOR: '1' }, []], [{}, ['--no-color']]] as const)('should print no escape codes on a terminal with %j %j', async (env, flags) => {
      ready();
      const run = await sandbox.run(['ps', ...flags], { overrides: psFleet().overrides, tty: true, env });
      expect(run.code).toBe(0);
      expect(run.stdout).not.toContain(ESC);
    });
  });

  describe('sync, adopt and purge', () => {
    it('should send each node its definitions and report not_in_definitions', async () => {
      ready();
      sandbox.writeService('notes', NOTES_TOML);
      sandbox.writeService('wiki', NOTES_TOML.replace(/notes/g, 'wiki').replace('node = "alpha"', 'node = "beta"'));
      const { factory, overrides } = fleet({
        alpha: {
          unary: {
            syncDesiredState: (r) => ({
              jobs: [],
              dryRun: r.dryRun,
              actions: [
                { service: 'notes', component: 'notes', action: 'unchanged', ok: true, error: '' },
                { service: 'old', component: '', action: 'not_in_definitions', ok: true, error: '' },
              ],
            }),
          },
        },
        beta: { unary: { syncDesiredState: (r) => ({ dryRun: r.dryRun, jobs: [], actions: [{ service: 'wiki', component: 'wiki', action: 'deploy', ok: true, error: '' }] }) } },
      });
      const run = await sandbox.run(['sync', '--dry-run'], { overrides });
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^alpha\s+old\s+-\s+not_in_definitions\s+planned$/m);
      expect(run.stdout).toMatch(/^beta\s+wiki\s+wiki\s+deploy\s+planned$/m);
      const byNode = Object.fromEntries(factory.calls.map((c) => [c.node, c.request as mcpv1.SyncDesiredStateRequest]));
      expect(byNode.alpha.services.map((s) => s.name)).toEqual(['notes']);
      expect(byNode.beta.services.map((s) => s.name)).toEqual(['wiki']);
      expect(byNode.alpha.dryRun).toBe(true);
    });

    it('should name the job changes of a sync after the table, and in --json only when there are some (SPEC §12)', async () => {
      ready();
      sandbox.writeService('notes', NOTES_TOML);
      const changes = ['job report: schedule "0 3 * * *" → "0 4 * * *"', 'job tidy: removed (unscheduled)'];
      const answer = (r: mcpv1.SyncDesiredStateRequest, jobs: mcpv1.ServiceJobChanges[]) => ({ dryRun: r.dryRun, actions: [{ service: 'notes', component: 'notes', action: 'unchanged', ok: true, error: '' }], jobs });
      const beta = { unary: { syncDesiredState: (r: mcpv1.SyncDesiredStateRequest) => ({ dryRun: r.dryRun, actions: [], jobs: [] }) } };
      const { overrides } = fleet({ alpha: { unary: { syncDesiredState: (r) => answer(r, [{ service: 'notes', changes }]) } }, beta });
      const run = await sandbox.run(['sync', '--dry-run'], { overrides });
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^alpha\s+notes\s+notes\s+unchanged\s+planned\n(?:.*\n)*notes: job report: schedule "0 3 \* \* \*" → "0 4 \* \* \*"\nnotes: job tidy: removed \(unscheduled\)$/m);
      const json = await sandbox.run(['sync', '--dry-run', '--json'], { overrides });
      expect(JSON.parse(json.stdout)).toMatchObject({ dryRun: true, jobs: [{ node: 'alpha', service: 'notes', changes }] });
      const none = await sandbox.run(['sync', '--dry-run', '--json'], { overrides: fleet({ alpha: { unary: { syncDesiredState: (r) => answer(r, []) } }, beta }).overrides });
      expect(JSON.parse(none.stdout)).not.toHaveProperty('jobs');
      const plain = await sandbox.run(['sync', '--dry-run'], { overrides: fleet({ alpha: { unary: { syncDesiredState: (r) => answer(r, []) } }, beta }).overrides });
      expect(plain.stdout).not.toContain('job ');
    });

    it('should refuse to sync a definition naming an unknown node', async () => {
      ready();
      const file = sandbox.writeService('notes', NOTES_TOML.replace('node = "alpha"', 'node = "gamma"'));
      const { factory, overrides } = fleet({});
      const run = await sandbox.run(['sync'], { overrides });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`${file}: node: "gamma" is not a node in`);
      expect(factory.calls).toHaveLength(0);
    });

    it('should adopt and write the returned spec as a definition that loads back', async () => {
      ready();
      const spec: mcpv1.ServiceSpec = {
        name: 'legacy',
        active: true,
        components: [{ name: 'web', image: 'localhost/mcp-test/busybox:2.0', network: '', memory: '', cpus: 0, secrets: [], envSecrets: {}, dependsOn: [], user: '0:0', restart: 'always', ports: ['127.0.0.1:8080:8080'], volumes: ['/srv/legacy:/www:ro'], cmd: ['httpd', '-f'], env: ['A=1'], routes: [] }],
      };
      const { overrides } = fleet({ beta: { unary: { adoptContainers: () => ({ service: 'legacy', results: [result('web')], spec }) } } });
      const run = await sandbox.run(['adopt', 'legacy', '--node', 'beta', '--write'], { overrides });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const loaded = await loadServiceFile(path.join(sandbox.servicesDir, 'legacy.toml'));
      expect(loaded).toMatchObject({ name: 'legacy', node: 'beta', active: true, components: [{ name: 'web', user: '0:0', restart: 'always', cmd: ['httpd', '-f'] }] });
    });

    it('should send the defined component names with purge', async () => {
      ready();
      sandbox.writeService('notes', NOTES_TOML);
      const { factory, overrides } = fleet({
        alpha: { unary: { purgeComponent: () => ({ dryRun: true, purged: [{ service: 'notes', component: 'old', observedState: 'removed' }] }) } },
      });
      const run = await sandbox.run(['purge', 'notes', '--dry-run'], { overrides });
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^alpha\s+notes\s+old\s+removed\s+would purge$/m);
      expect(factory.calls).toEqual([
        expect.objectContaining({ node: 'alpha', request: { service: 'notes', component: '', defined: ['notes/notes'], dryRun: true } }),
      ]);
    });
  });

  describe('secret, import and export formats (SPEC §9)', () => {
    it('should send the value from stdin in the request, never print it, and name what the next deploy recreates', async () => {
      ready();
      sandbox.writeService('notes', NOTES_TOML);
      const { factory, overrides } = fleet({
        alpha: { unary: { setSecret: () => ({ secret: { name: 'token', setAt: seconds(NOW), usedBy: ['notes'] }, recreateOnDeploy: ['notes'] }) } },
      });
      const run = await sandbox.run(['secret', 'set', 'notes', 'token'], { overrides, stdin: 'hunter2-value\n' });
      expect(run.code).toBe(0);
      expect(run.stdout).toBe('secret token of notes set on alpha; mcp deploy notes recreates notes\n');
      expect(run.stdout + run.stderr).not.toContain('hunter2');
      expect(factory.calls).toEqual([expect.objectContaining({ node: 'alpha', method: 'setSecret', request: { service: 'notes', name: 'token', value: Buffer.from('hunter2-value\n') } })]);
    });

    it.each([
      [['secret', 'set', 'notes', 'token'], '', 'the value is empty: pipe it in'],
      [['secret', 'set', 'notes', 'bad/name'], 'x', 'invalid secret name "bad/name"'],
      [['secret'], '', 'missing action: use set, list or rm'],
      [['service', 'export', 'notes', '--format', 'helm'], '', 'unknown format "helm": use toml, kube or compose'],
    ])('should refuse %j as a usage error (exit 2)', async (argv, stdin, message) => {
      ready();
      sandbox.writeService('notes', NOTES_TOML);
      const { factory, overrides } = fleet({});
      const run = await sandbox.run(argv, { overrides, stdin });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(message);
      expect(factory.calls).toHaveLength(0);
    });

    it('should list secrets as a table without values', async () => {
      ready();
      sandbox.writeService('notes', NOTES_TOML);
      const { overrides } = fleet({ alpha: { unary: { listSecrets: () => ({ secrets: [{ name: 'token', setAt: seconds(NOW), usedBy: ['notes'] }] }) } } });
      const run = await sandbox.run(['secret', 'list', 'notes'], { overrides });
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^token\s+2026-11-23T12:00:00.000Z\s+notes$/m);
    });

    it('should import a Compose file, list what it could not carry, and refuse to overwrite without --force', async () => {
      ready();
      const dir = path.join(sandbox.home, 'shop');
      fs.mkdirSync(dir);
      const compose = path.join(dir, 'compose.yaml');
      fs.writeFileSync(compose, 'services:\n  web:\n    image: localhost/shop:1.0\n    container_name: shop\n    ports: ["127.0.0.1:8080:80"]\n');
      const { overrides } = fleet({});
      const run = await sandbox.run(['import', 'compose', compose, '--node', 'beta'], { overrides });
      expect(run.code).toBe(0);
      expect(run.stderr).toContain('services.web.container_name: MCP names containers <service>-<component>; dropped');
      const file = path.join(sandbox.servicesDir, 'shop.toml');
      expect(await loadServiceFile(file)).toMatchObject({ name: 'shop', node: 'beta', components: [{ name: 'web', ports: ['127.0.0.1:8080:80'] }] });
      expect(sandbox.read(file)).toMatch(/^# Imported from compose.yaml by mcp import compose.\n# Not carried over/);

      const again = await sandbox.run(['import', 'compose', compose, '--node', 'beta'], { overrides });
      expect(again.code).toBe(1);
      expect(again.stderr).toContain(`${file} exists: pass --force`);
    });

    it('should write nothing when the import fails, and say where to fix the Compose file', async () => {
      ready();
      const compose = path.join(sandbox.home, 'compose.yaml');
      fs.writeFileSync(compose, 'services:\n  web:\n    build: .\n');
      const { overrides } = fleet({});
      const run = await sandbox.run(['import', 'compose', compose, '--node', 'beta', '--name', 'shop'], { overrides });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`${compose}: services.web.image: is required: MCP runs images and does not build them`);
      expect(fs.existsSync(path.join(sandbox.servicesDir, 'shop.toml'))).toBe(false);
    });

    it('should ask for --node when several nodes are configured', async () => {
      ready();
      const compose = path.join(sandbox.home, 'compose.yaml');
      fs.writeFileSync(compose, 'services:\n  web:\n    image: localhost/shop:1.0\n');
      const { overrides } = fleet({});
      const run = await sandbox.run(['import', 'compose', compose, '--name', 'shop'], { overrides });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('several nodes configured (alpha, beta): pass --node NAME');
    });
  });

  describe('service', () => {
    const fullSpec: mcpv1.ServiceSpec = {
      name: 'notes',
      active: false,
      components: [
        {
          name: 'notes',
          image: 'localhost/mcp-test/busybox:1.0',
          network: 'mcp',
          user: '1000:1000',
          memory: '256m',
          cpus: 0.5,
          secrets: ['token'],
          envSecrets: { TOKEN: 'token' },
          dependsOn: [],
          restart: 'on-failure:3',
          ports: ['127.0.0.1:9000:9000'],
          volumes: ['/srv/notes/www:/www:ro'],
          cmd: ['httpd', '-f', '-p', '8080'],
          env: ['MODE=prod', 'X=a b'],
          routes: [
            { name: 'web', port: 443, mode: 'l7', hostname: 'notes.example.net' },
            { name: 'admin', port: 8443, mode: 'l4', hostname: '' },
          ],
        },
      ],
    };
    const listWithSpec = () => ({ node: 'alpha', cordoned: false, services: [{ ...listAlpha.services[0], spec: fullSpec }] });

    it('should export the full spec as a file that loads back identically', async () => {
      ready();
      sandbox.writeService('notes', NOTES_TOML);
      const out = path.join(sandbox.home, 'notes.toml');
      const { overrides } = fleet({ alpha: { unary: { listServices: listWithSpec } } });
      const run = await sandbox.run(['service', 'export', 'notes', '-o', out], { overrides });
      expect(run.code).toBe(0);
      const loaded = await loadServiceFile(out);
      expect(loaded).toEqual({
        name: 'notes',
        node: 'alpha',
        active: false,
        components: [
          {
            name: 'notes',
            image: 'localhost/mcp-test/busybox:1.0',
            network: 'mcp',
            user: '1000:1000',
            restart: 'on-failure:3',
            ports: ['127.0.0.1:9000:9000'],
            volumes: ['/srv/notes/www:/www:ro'],
            cmd: ['httpd', '-f', '-p', '8080'],
            env: ['MODE=prod', 'X=a b'],
            routes: [
              { name: 'web', port: 443, mode: 'l7', hostname: 'notes.example.net' },
              { name: 'admin', port: 8443, mode: 'l4' },
            ],
            memory: '256m',
            cpus: 0.5,
            secrets: ['token'],
            env_secrets: { TOKEN: 'token' },
          },
        ],
      });
    });

    it('should refuse to overwrite the definition on export without --force', async () => {
      ready();
      const file = sandbox.writeService('notes', NOTES_TOML);
      const { overrides } = fleet({ alpha: { unary: { listServices: listWithSpec } } });
      const run = await sandbox.run(['service', 'export', 'notes'], { overrides });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`${file} exists: pass --force`);
      expect(sandbox.read(file)).toBe(NOTES_TOML);
    });

    it('should show the spec the agent holds as TOML', async () => {
      ready();
      sandbox.writeService('notes', NOTES_TOML);
      const { overrides } = fleet({ alpha: { unary: { listServices: listWithSpec } } });
      const run = await sandbox.run(['service', 'show', 'notes'], { overrides });
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^name = "notes"\nnode = "alpha"\nactive = false\n/);
      expect(run.stdout).toContain('restart = "on-failure:3"');
    });

    it('should keep the original and set the attempt aside when an edit is invalid', async () => {
      ready();
      const file = sandbox.writeService('notes', NOTES_TOML);
      const editor = { edit: async (target: string) => fs.writeFileSync(target, NOTES_TOML.replace('port = 443', 'port = 0').replace('name = "notes"\nnode', 'name = "notes"\nbogus = 1\nnode')) };
      const run = await sandbox.run(['service', 'edit', 'notes'], { overrides: [{ provide: Editor, useValue: editor }] });
      expect(run.code).toBe(1);
      expect(sandbox.read(file)).toBe(NOTES_TOML);
      expect(sandbox.read(`${file}.rejected`)).toContain('port = 0');
      expect(run.stderr).toContain(`${file}: components[0].routes[0].port:`);
      expect(run.stderr).toMatch(/bogus/);
      expect(run.stderr).toContain('original kept');
    });

    it('should run $EDITOR without a shell and keep a valid edit', async () => {
      ready();
      const file = sandbox.writeService('notes', NOTES_TOML);
      const script = path.join(sandbox.home, 'editor.js');
      fs.writeFileSync(script, `const fs = require('fs'); const f = process.argv[2]; fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('busybox:1.0', 'busybox:2.0'));`);
      const run = await sandbox.run(['service', 'edit', 'notes'], { env: { EDITOR: `${process.execPath} ${script}` } });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(sandbox.read(file)).toBe(NOTES_TOML.replace('busybox:1.0', 'busybox:2.0'));
    });
  });

  describe('push, pull and logs', () => {
    it('should push a file with its size, mode and sha256 in the header', async () => {
      ready();
      sandbox.writeService('notes', NOTES_TOML);
      const local = path.join(sandbox.home, 'index.html');
      const content = Buffer.alloc(200 * 1024, 'x');
      fs.writeFileSync(local, content, { mode: 0o640 });
      let received: Buffer | undefined;
      const { factory, overrides } = fleet({
        alpha: {
          pushFile: (header, data) => {
            received = data;
            return { path: header.path, size: data.length, sha256: createHash('sha256').update(data).digest('hex') };
          },
        },
      });
      const run = await sandbox.run(['push', local, 'notes', 'www/index.html'], { overrides });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(received?.equals(content)).toBe(true);
      expect(factory.calls[0].request).toEqual({
        header: { service: 'notes', path: 'www/index.html', mode: 0o640, size: content.length, sha256: createHash('sha256').update(content).digest('hex'), mtimeMs: 0 },
        chunks: 4,
      });
    });

    it('should pull into place with the sent mode after checking the sha256', async () => {
      ready();
      sandbox.writeService('notes', NOTES_TOML);
      const data = Buffer.from('hello from mcp-test busybox 1.0\n');
      const sha256 = createHash('sha256').update(data).digest('hex');
      const { overrides } = fleet({
        alpha: { pullFile: () => [{ info: { size: data.length, mode: 0o640, sha256 } }, { chunk: data.subarray(0, 5) }, { chunk: data.subarray(5) }] },
      });
      const local = path.join(sandbox.home, 'copy.txt');
      const run = await sandbox.run(['pull', 'notes', 'www/index.html', local], { overrides });
      expect(run.code).toBe(0);
      expect(fs.readFileSync(local).equals(data)).toBe(true);
      expect(fs.statSync(local).mode & 0o777).toBe(0o640);
    });

    it('should write nothing when the pulled sha256 does not match', async () => {
      ready();
      sandbox.writeService('notes', NOTES_TOML);
      const { overrides } = fleet({ alpha: { pullFile: () => [{ info: { size: 3, mode: 0o644, sha256: 'f'.repeat(64) } }, { chunk: Buffer.from('abc') }] } });
      const local = path.join(sandbox.home, 'copy.txt');
      const run = await sandbox.run(['pull', 'notes', 'x', local], { overrides });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/SHA-256 .* does not match/);
      expect(fs.readdirSync(sandbox.home).filter((f) => f.includes('copy'))).toEqual([]);
    });

    it('should write log chunks to stdout and stderr as the agent labels them', async () => {
      ready();
      sandbox.writeService('notes', NOTES_TOML);
      const { factory, overrides } = fleet({
        alpha: { logs: () => [{ data: Buffer.from('out line\n'), stream: 'stdout' }, { data: Buffer.from('err line\n'), stream: 'stderr' }] },
      });
      const run = await sandbox.run(['logs', 'notes/notes', '-n', '20', '--since', '10m', '-t'], { overrides });
      expect(run.code).toBe(0);
      expect(run.stdout).toBe('out line\n');
      expect(run.stderr).toBe('err line\n');
      expect(factory.calls[0].request).toEqual({ service: 'notes', component: 'notes', follow: false, tail: 20, since: '10m', timestamps: true });
    });
  });

  describe('image push (SPEC §13)', () => {
    const digest = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
    const config = Buffer.from('{"os":"linux"}');
    const base = Buffer.alloc(300 * 1024, 1);
    const top = Buffer.alloc(200 * 1024, 2);
    const blobs: Array<SavedBlob & { data: Buffer }> = [
      { digest: digest(config), size: config.length, kind: 'config', data: config },
      { digest: digest(base), size: base.length, kind: 'layer', data: base },
      { digest: digest(top), size: top.length, kind: 'layer', data: top },
    ];
    let disposed = 0;
    const saved: SavedImage = {
      reference: 'localhost/app:1',
      id: digest(config),
      manifest: Buffer.from('{"schemaVersion":2}'),
      blobs: blobs.map(({ digest: d, size, kind }) => ({ digest: d, size, kind })),
      async *read(wanted: string, chunkBytes: number) {
        const data = blobs.find((blob) => blob.digest === wanted)!.data;
        const step = Math.min(chunkBytes, 64 * 1024);
        for (let at = 0; at < data.length; at += step) yield data.subarray(at, at + step);
      },
      async dispose() {
        disposed++;
      },
    };
    class FakeWorkstationImages extends WorkstationImages {
      async save(reference: string): Promise<SavedImage> {
        return { ...saved, reference };
      }
    }
    /** alpha has the base layer: only the config and the top layer may be sent. */
    function imageFleet() {
      const received: string[][] = [];
      const scripted = fleet({
        alpha: {
          unary: { imageBlobs: () => ({ present: [blobs[1].digest], imagePresent: false }) },
          pushImage: (_header, sent) => {
            received.push(sent.map((blob) => blob.digest));
            return { imageId: saved.id, reference: 'localhost/app:1', blobsReceived: sent.length, bytesReceived: sent.reduce((n, b) => n + b.data.length, 0), blobsPresent: 3 - sent.length };
          },
        },
      });
      return { received, overrides: [...scripted.overrides, { provide: WorkstationImages, useClass: FakeWorkstationImages }] };
    }

    beforeEach(() => {
      disposed = 0;
    });

    it('should send only the blobs the node lacks and say so in --json', async () => {
      ready();
      const { received, overrides } = imageFleet();
      const run = await sandbox.run(['image', 'push', 'localhost/app:1', '--node', 'alpha', '--json'], { overrides });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(received).toEqual([[blobs[0].digest, blobs[2].digest]]);
      expect(JSON.parse(run.stdout)).toEqual({
        pushes: [
          {
            node: 'alpha',
            reference: 'localhost/app:1',
            imageId: saved.id,
            blobsSent: 2,
            bytesSent: config.length + top.length,
            blobsSkipped: 1,
            bytesSkipped: base.length,
            agentBytesReceived: config.length + top.length,
          },
        ],
        errors: [],
      });
      expect(disposed).toBe(1);
    });

    it('should show bytes and rate per blob on a terminal only, and a table of sent and skipped', async () => {
      ready();
      const tty = await sandbox.run(['image', 'push', 'localhost/app:1', '--node', 'alpha'], { overrides: imageFleet().overrides, tty: true });
      expect(tty.code).toBe(0);
      expect(tty.stderr).toMatch(new RegExp(`alpha: layer ${blobs[2].digest.slice(7, 19)} \\(2/2\\) 200\\.0 KiB / 200\\.0 KiB  [0-9.]+ (B|KiB|MiB|GiB)/s`));
      expect(tty.stderr).toMatch(/alpha: config [0-9a-f]{12} \(1\/2\) 14 B \/ 14 B/);
      const piped = await sandbox.run(['image', 'push', 'localhost/app:1', '--node', 'alpha'], { overrides: imageFleet().overrides });
      expect(piped.stderr).toBe('');
      expect(piped.stdout).toMatch(/^NODE +IMAGE +ID +SENT +SKIPPED$/m);
      expect(piped.stdout).toMatch(/^alpha +localhost\/app:1 +[0-9a-f]{12} +2 \(200\.0 KiB\) +1 \(300\.0 KiB\)$/m);
    });

    it('should fail in one line and still remove the saved copy when the node answers another image ID', async () => {
      ready();
      const { overrides } = fleet({
        alpha: {
          unary: { imageBlobs: () => ({ present: [], imagePresent: false }) },
          pushImage: () => ({ imageId: `sha256:${'e'.repeat(64)}`, reference: 'localhost/app:1', blobsReceived: 3, bytesReceived: 1, blobsPresent: 0 }),
        },
      });
      const run = await sandbox.run(['image', 'push', 'localhost/app:1', '--node', 'alpha'], { overrides: [...overrides, { provide: WorkstationImages, useClass: FakeWorkstationImages }] });
      expect(run.code).toBe(1);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toContain(`not ${saved.id}`);
      expect(disposed).toBe(1);
    });
  });

  describe('exec and run (SPEC §12)', () => {
    it("should exit with the command's status, streams apart, and send the start as given", async () => {
      ready();
      sandbox.writeService('notes', NOTES_TOML);
      const { factory, overrides } = fleet({ alpha: { exec: () => [{ stdout: Buffer.from('out\n') }, { stderr: Buffer.from('err\n') }, { exitCode: 7 }] } });
      const run = await sandbox.run(['exec', '--user', '0', '--workdir', '/tmp', 'notes/notes', '--', 'sh', '-c', 'exit 7'], { overrides });
      expect({ code: run.code, stdout: run.stdout, stderr: run.stderr }).toEqual({ code: 7, stdout: 'out\n', stderr: 'err\n' });
      expect(factory.calls[0].request).toEqual({ service: 'notes', component: 'notes', cmd: ['sh', '-c', 'exit 7'], interactive: false, tty: false, user: '0', workdir: '/tmp', size: undefined });
    });

    it('should say so in one mcp: line when the agent ends an exec without an exit status', async () => {
      ready();
      sandbox.writeService('notes', NOTES_TOML);
      const { overrides } = fleet({ alpha: { exec: () => [{ stdout: Buffer.from('partial') }] } });
      const run = await sandbox.run(['exec', 'notes', '--', 'true'], { overrides });
      expect(run.code).toBe(1);
      expect(run.stderr.trim()).toMatch(/^mcp: .*ended the exec without the command's exit status$/);
    });

    it('should refuse exec without a command as a usage error', async () => {
      ready();
      sandbox.writeService('notes', NOTES_TOML);
      const run = await sandbox.run(['exec', 'notes/notes'], { overrides: fleet({ alpha: {} }).overrides });
      expect(run.code).toBe(2);
    });

    it("should exit with a run's status, pass --env, --image and --timeout on, and print its output", async () => {
      ready();
      sandbox.writeService('notes', NOTES_TOML);
      const { factory, overrides } = fleet({ alpha: { run: () => [{ container: 'notes-notes-run-0a1b2c3d' }, { stdout: Buffer.from('done\n') }, { exitCode: 3 }] } });
      const run = await sandbox.run(['run', '--env', 'A=1', '-e', 'B=2', '--image', 'localhost/x:2', '--timeout', '90s', 'notes/notes', '--', 'bin/task'], { overrides });
      expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 3, stdout: 'done\n' });
      expect(factory.calls[0].request).toEqual({ service: 'notes', component: 'notes', cmd: ['bin/task'], image: 'localhost/x:2', env: ['A=1', 'B=2'], timeoutSeconds: 90 });
    });

    it.each([
      [['run', '--env', 'nope', 'notes', '--', 'true'], /--env "nope": expected KEY=VALUE/],
      [['run', '--timeout', 'soon', 'notes', '--', 'true'], /--timeout "soon": expected a duration/],
    ])('should refuse %j as a usage error in one line', async (argv, message) => {
      ready();
      sandbox.writeService('notes', NOTES_TOML);
      const run = await sandbox.run(argv, { overrides: fleet({ alpha: {} }).overrides });
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(message);
    });
  });

  describe('jobs (SPEC §12)', () => {
    const at = (iso: string) => ({ seconds: Date.parse(iso) / 1000, nanos: 0 });
    const status: mcpv1.JobStatus = {
      service: 'notes',
      spec: { name: 'report', component: 'notes', image: '', cmd: ['bin/report'], schedule: '0 3 * * *', tz: 'Europe/Berlin', timeout: '', concurrency: '' },
      scheduled: true,
      lastRun: { id: 4, job: 'report', trigger: 'schedule', startedAt: at('2026-12-07T02:00:00Z'), finishedAt: at('2026-12-07T02:00:02Z'), result: 'failed', exitCode: 3, durationMs: 2000, container: 'notes-notes-run-0a1b2c3d', message: 'exited 3', output: Buffer.alloc(0) },
      nextRun: at('2026-12-08T02:00:00Z'),
      running: 0,
      recentRuns: [],
    };

    it('should list the jobs as a table and as JSON', async () => {
      ready();
      sandbox.writeService('notes', NOTES_TOML);
      const { factory, overrides } = fleet({ alpha: { unary: { listJobs: () => ({ jobs: [status], runs: [] }) } } });
      const table = await sandbox.run(['jobs', 'notes'], { overrides });
      expect(table.code).toBe(0);
      expect(table.stdout).toMatch(/^NAME\s+SCHEDULE\s+LAST-RUN\s+RESULT\s+NEXT-RUN\n/);
      expect(table.stdout).toMatch(/^report\s+0 3 \* \* \* \(Europe\/Berlin\)\s+2026-12-07T02:00:00.000Z\s+failed\s+2026-12-08T02:00:00.000Z$/m);
      expect(factory.calls[0].request).toEqual({ service: 'notes', job: '', recent: 0 });
      const json = await sandbox.run(['jobs', 'notes', '--json'], { overrides });
      expect(JSON.parse(json.stdout)).toEqual([
        { service: 'notes', name: 'report', schedule: '0 3 * * *', tz: 'Europe/Berlin', component: 'notes', concurrency: 'forbid', scheduled: true, running: 0, lastRun: '2026-12-07T02:00:00.000Z', result: 'failed', exitCode: 3, message: 'exited 3', nextRun: '2026-12-08T02:00:00.000Z' },
      ]);
    });

    it("should run a job now, stream its output and exit with its status", async () => {
      ready();
      sandbox.writeService('notes', NOTES_TOML);
      const { factory, overrides } = fleet({ alpha: { runJob: () => [{ container: 'notes-notes-run-0a1b2c3d' }, { stdout: Buffer.from('out\n') }, { stderr: Buffer.from('err\n') }, { run: { ...status.lastRun!, trigger: 'manual' } }] } });
      const run = await sandbox.run(['jobs', 'run', 'notes/report'], { overrides });
      expect({ code: run.code, stdout: run.stdout, stderr: run.stderr }).toEqual({ code: 3, stdout: 'out\n', stderr: 'err\n' });
      expect(factory.calls[0]).toMatchObject({ method: 'runJob', request: { service: 'notes', job: 'report' } });
    });

    it('should say a skipped run in one mcp: line (exit 1) and refuse a target without a job (exit 2)', async () => {
      ready();
      sandbox.writeService('notes', NOTES_TOML);
      const skipped = { ...status.lastRun!, result: 'skipped', exitCode: undefined, message: 'skipped: the previous run still goes (concurrency = "forbid")' };
      const { overrides } = fleet({ alpha: { runJob: () => [{ run: skipped }] } });
      const run = await sandbox.run(['jobs', 'run', 'notes/report'], { overrides });
      expect(run.code).toBe(1);
      expect(run.stderr.trim()).toBe('mcp: job notes/report: skipped: the previous run still goes (concurrency = "forbid")');
      const bad = await sandbox.run(['jobs', 'run', 'notes'], { overrides });
      expect(bad.code).toBe(2);
    });

    it("should print a job's last run output for mcp logs SERVICE/JOB", async () => {
      ready();
      sandbox.writeService('notes', NOTES_TOML);
      const { overrides } = fleet({
        alpha: {
          logs: () => {
            throw agentError('alpha', 'NOT_FOUND', 'alpha: component "notes/report" not found');
          },
          unary: { listJobs: () => ({ jobs: [status], runs: [{ ...status.lastRun!, output: Buffer.from('the report\n') }] }) },
        },
      });
      const run = await sandbox.run(['logs', 'notes/report'], { overrides });
      expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 0, stdout: 'the report\n' });
    });
  });

  describe('events', () => {
    const event = (id: number, minute: number, service: string, kind: string, message: string) => ({
      id,
      event: { time: { seconds: Date.UTC(2026, 10, 30, 8, minute) / 1000, nanos: 0 }, service, component: 'web', kind, message, fromState: '', toState: '' },
    });

    it('should merge every node\'s events oldest first, one line each, and pass the filters on', async () => {
      ready();
      const { factory, overrides } = fleet({
        alpha: { events: () => [event(7, 1, 'notes', 'deployed', 'release 1'), event(9, 5, 'notes', 'drift', 'desired running, observed exited')] },
        beta: { events: () => [event(3, 3, 'notes', 'state_changed', 'running → exited')] },
      });
      const run = await sandbox.run(['events', 'notes', '--since', '2026-11-30T08:00:00Z', '-n', '5'], { overrides });
      expect(run.code).toBe(0);
      expect(run.stdout.trim().split('\n')).toEqual([
        '2026-11-30T08:01:00.000Z  alpha  notes/web  deployed: release 1',
        '2026-11-30T08:03:00.000Z  beta  notes/web  state_changed: running → exited',
        '2026-11-30T08:05:00.000Z  alpha  notes/web  drift: desired running, observed exited',
      ]);
      expect(factory.calls.map((c) => [c.node, c.method, c.request])).toEqual([
        ['alpha', 'events', { service: 'notes', since: { seconds: Date.UTC(2026, 10, 30, 8, 0) / 1000, nanos: 0 }, follow: false, limit: 5 }],
        ['beta', 'events', { service: 'notes', since: { seconds: Date.UTC(2026, 10, 30, 8, 0) / 1000, nanos: 0 }, follow: false, limit: 5 }],
      ]);
    });

    it('should print JSON with the node of each event, and report an unreachable node with exit 3', async () => {
      ready();
      const { overrides } = fleet({ alpha: { events: () => [event(7, 1, 'notes', 'deployed', 'release 1')] }, beta: { unreachable: true } });
      const run = await sandbox.run(['events', '--json'], { overrides });
      expect(run.code).toBe(3);
      const parsed = JSON.parse(run.stdout);
      expect(parsed.events).toEqual([expect.objectContaining({ node: 'alpha', id: 7, service: 'notes', kind: 'deployed', time: '2026-11-30T08:01:00.000Z' })]);
      expect(parsed.errors).toEqual([expect.objectContaining({ node: 'beta', kind: 'unreachable' })]);
    });

    it('should follow with one JSON object per line, asking only the chosen node', async () => {
      ready();
      const { factory, overrides } = fleet({ alpha: { events: () => [event(1, 1, 'notes', 'deployed', 'one'), event(2, 2, 'notes', 'drift', 'two')] }, beta: {} });
      const run = await sandbox.run(['events', '-f', '--json', '--node', 'alpha'], { overrides });
      expect(run.code).toBe(0);
      expect(run.stdout.trim().split('\n').map((line) => JSON.parse(line).message)).toEqual(['one', 'two']);
      expect(factory.calls.map((c) => [c.node, (c.request as { follow: boolean }).follow])).toEqual([['alpha', true]]);
      expect(run.stderr).toMatch(/alpha: the agent closed the event stream/);
    });
  });

  describe('node', () => {
    it('should add and remove nodes keeping the rest of mcp.toml', async () => {
      sandbox.writeConfig(TWO_NODES);
      const add = await sandbox.run(['node', 'add', 'gamma', '192.168.1.5:9444', '--server-name', 'gamma.example.net']);
      expect(add.code).toBe(0);
      const added = sandbox.read(sandbox.configFile);
      expect(added.startsWith(TWO_NODES)).toBe(true);
      expect(added).toContain('[[nodes]]\nname = "gamma"\naddress = "192.168.1.5:9444"\nserver_name = "gamma.example.net"\n');

      const list = await sandbox.run(['node', 'list', '--json']);
      expect(JSON.parse(list.stdout).nodes.map((n: { name: string }) => n.name)).toEqual(['alpha', 'beta', 'gamma']);

      const remove = await sandbox.run(['node', 'remove', 'alpha']);
      expect(remove.code).toBe(0);
      const removed = sandbox.read(sandbox.configFile);
      expect(removed).toContain('# the fleet\n[tls]\nca_cert = "ca.pem"\n');
      expect(removed).not.toContain('alpha');
      expect(removed).toContain('name = "beta"');
      expect(removed).toContain('name = "gamma"');
    });

    it('should refuse a duplicate node and an unknown one', async () => {
      sandbox.writeConfig(TWO_NODES);
      expect((await sandbox.run(['node', 'add', 'alpha', 'h:1'])).code).toBe(1);
      const remove = await sandbox.run(['node', 'remove', 'nope']);
      expect(remove.code).toBe(1);
      expect(remove.stderr).toContain('no node "nope"');
      expect(sandbox.read(sandbox.configFile)).toBe(TWO_NODES);
    });

    it('should show node status for every node', async () => {
      ready();
      const status: mcpv1.NodeStatusResponse = {
        node: 'alpha', version: '0.1.0', startedAt: undefined, uptimeSeconds: 3600 * 5 + 60 * 3, containers: 4, runningContainers: 3, cpus: 2,
        memoryTotalBytes: 4 * 1024 ** 3, memoryFreeBytes: 2 * 1024 ** 3, diskFreeBytes: 10 * 1024 ** 3, diskTotalBytes: 20 * 1024 ** 3, runtimeVersion: '4.3.1',
        release: '', releaseGood: false, lastRollback: undefined, cordoned: false, cordonedAt: undefined, cordonedBy: '',
      };
      const { overrides } = fleet({ alpha: { unary: { nodeStatus: () => status } }, beta: { unreachable: true } });
      const run = await sandbox.run(['node', 'status'], { overrides });
      expect(run.code).toBe(3);
      expect(run.stdout).toMatch(/^alpha\s+up\s+0\.1\.0\s+5h3m\s+3\/4\s+2\s+2\.0G\/4\.0G\s+10\.0G\/20\.0G$/m);
      expect(run.stdout).toMatch(/^beta\s+unreachable/m);
    });

    it('should cordon and uncordon a node through SetCordon, saying what it means', async () => {
      ready();
      const { overrides, factory } = fleet({ alpha: { unary: { setCordon: (request: mcpv1.SetCordonRequest) => ({ node: 'alpha-host', cordoned: request.cordoned, changed: true }) } } });
      const cordon = await sandbox.run(['node', 'cordon', 'alpha'], { overrides });
      expect(cordon.code).toBe(0);
      expect(cordon.stdout.trim()).toBe('cordoned node alpha: new services are refused there (its services keep running; mcp node drain alpha moves them)');
      const uncordon = await sandbox.run(['node', 'uncordon', 'alpha', '--json'], { overrides });
      expect(JSON.parse(uncordon.stdout)).toEqual({ node: 'alpha', cordoned: false, changed: true });
      expect(factory.calls.map((c) => [c.method, c.request])).toEqual([['setCordon', { cordoned: true }], ['setCordon', { cordoned: false }]]);
      expect((await sandbox.run(['node', 'cordon', 'nope'], { overrides })).stderr).toContain('unknown node "nope" (configured: alpha, beta)');
    });

    it('should mark a cordoned node in list and say so under the table', async () => {
      ready();
      const { overrides } = fleet({ alpha: { unary: { listServices: () => ({ ...listAlpha, cordoned: true }) } }, beta: { unary: { listServices: () => ({ node: 'beta', services: [], cordoned: false }) } } });
      const run = await sandbox.run(['list'], { overrides });
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^notes\s+notes\s+alpha \(cordoned\)\s+running/m);
      expect(run.stdout).toContain('cordoned: alpha (no new services; mcp node uncordon NAME)');
    });
  });

  describe('config', () => {
    it('should say how to create a config when there is none', async () => {
      const run = await sandbox.run(['ps'], fleet({}));
      expect(run.code).toBe(1);
      expect(run.stderr.trim().split('\n')).toEqual([
        `mcp: no config file: create ${sandbox.configFile} with a [[nodes]] entry (name, address), or run mcp node add NAME HOST:PORT`,
      ]);
    });

    it('should list every bad key of the config file', async () => {
      sandbox.writeConfig('[services]\ndir = 3\nextra = "x"\n[bogus]\na = 1\n[[nodes]]\nname = "a"\n').writeToken();
      const run = await sandbox.run(['ps'], fleet({}));
      expect(run.code).toBe(1);
      const file = sandbox.configFile;
      expect(run.stderr.trim().split('\n')).toEqual([
        `mcp: ${file}: services.dir: must be a non-empty string`,
        `mcp: ${file}: services.extra: unknown key`,
        `mcp: ${file}: bogus: unknown key`,
        `mcp: ${file}: nodes[0].address: required`,
      ]);
    });

    it('should take the config from --config and MCP_CONFIG', async () => {
      const other = path.join(sandbox.home, 'other.toml');
      fs.writeFileSync(other, '[[nodes]]\nname = "solo"\naddress = "localhost:9444"\n');
      const viaFlag = await sandbox.run(['node', 'list', '--config', other]);
      expect(viaFlag.stdout).toMatch(/^solo\s+localhost:9444/m);
      const viaEnv = await sandbox.run(['node', 'list'], { env: { MCP_CONFIG: other } });
      expect(viaEnv.stdout).toMatch(/^solo\s+localhost:9444/m);
      const missing = await sandbox.run(['node', 'list', '--config', path.join(sandbox.home, 'nope.toml')]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('nope.toml: file not found');
    });

    it('should let MCP_* variables override keys', async () => {
      ready();
      sandbox.writeService('notes', NOTES_TOML);
      const tokenElsewhere = path.join(sandbox.home, 'tok');
      fs.writeFileSync(tokenElsewhere, 'env-token\n', { mode: 0o600 });
      const { factory, overrides } = fleet({ alpha: { unary: { restartService: () => ({ service: 'notes', results: [] }) } } });
      const run = await sandbox.run(['restart', 'notes'], { overrides, env: { MCP_AUTH_TOKEN_PATH: tokenElsewhere, MCP_TLS_CA_CERT: '/etc/ca.pem' } });
      expect(run.code).toBe(0);
      expect(factory.calls[0].token).toBe('env-token');
      expect(factory.created[0].caCert).toBe('/etc/ca.pem');
    });
  });

  describe('errors', () => {
    it('should show a stack trace only with --debug', async () => {
      ready();
      const { overrides } = fleet({ alpha: { unary: { liveCheck: () => new UnauthenticatedError('boom') } }, beta: { unary: { liveCheck: () => liveBeta } } });
      const plain = await sandbox.run(['ps'], { overrides });
      expect(plain.stderr).not.toMatch(/\n\s+at /);
      const debug = await sandbox.run(['ps', '--debug'], { overrides: fleet({ alpha: { unreachable: true }, beta: { unreachable: true } }).overrides });
      expect(debug.code).toBe(3);
      expect(debug.stderr).toMatch(/PartialFailureError[\s\S]*\n\s+at /);
    });

    it('should print completion scripts', async () => {
      const bash = await sandbox.run(['completion', 'bash']);
      expect(bash.code).toBe(0);
      expect(bash.stdout).toContain('complete -o filenames -F _mcp_complete mcp');
      expect(bash.stdout).toMatch(/node\) words="list add remove status/);
      const zsh = await sandbox.run(['completion', 'zsh']);
      expect(zsh.stdout).toContain('#compdef mcp');
    });
  });
});

describe(runCli.name, () => {
  it('should be usable without a HOME config for --help', async () => {
    const sandbox = new CliSandbox();
    try {
      const run = await sandbox.run(['deploy', '--help']);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('Usage: mcp deploy [options] <target>');
    } finally {
      sandbox.remove();
    }
  });
});
