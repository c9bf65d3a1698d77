import type { mcpv1 } from '@mcp/proto';
import { FakeClock } from '../../../../test/fakes';
import { FakeAgentClientFactory, agentError, type NodeScript } from '../../../../test/cli/fakes/fake-agent-client';
import { parseListen } from '../commands/ui.command';
import { UsageError } from '../errors';
import type { NodeConfig } from '../config/cli-config';
import { FleetWatcher } from './fleet-watcher';
import { buildFleetView, type NodePoll } from './fleet-view';

const ts = (iso: string) => ({ seconds: Math.floor(Date.parse(iso) / 1000), nanos: 0 });
const NODES: NodeConfig[] = [
  { name: 'alpha', address: '10.0.0.1:9444', timeoutMs: 1000 },
  { name: 'beta', address: '10.0.0.2:9444', timeoutMs: 1000 },
];

function component(name: string, over: Partial<mcpv1.ComponentInfo> = {}): mcpv1.ComponentInfo {
  return { name, image: `img/${name}:1.0`, desiredState: 'running', observedState: 'running', version: '1.0', routes: [], updatedAt: undefined, container: `shop-${name}`, ...over };
}

function alphaScript(observed: { web: string }, events: mcpv1.Event[] = [], stream: NodeScript['events'] = () => []): NodeScript {
  return {
    events: stream,
    unary: {
      nodeStatus: () => ({ node: 'alpha-host', version: '0.1.0', startedAt: ts('2026-11-30T00:00:00Z'), uptimeSeconds: 60, containers: 3, runningContainers: 2, cpus: 2, memoryTotalBytes: 4096, memoryFreeBytes: 1024, diskFreeBytes: 10, diskTotalBytes: 20, runtimeVersion: '4.3.1', release: '', releaseGood: false, lastRollback: undefined, cordoned: false, cordonedAt: undefined, cordonedBy: '' }),
      listServices: () => ({
        node: 'alpha-host',
        cordoned: false,
        services: [
          {
            name: 'shop',
            active: true,
            spec: undefined,
            components: [component('web', { routes: [{ name: '', port: 443, mode: 'l4', hostname: 'shop.example', hostPort: 23456 }] }), component('worker')],
          },
        ],
      }),
      getServiceStatus: () => ({
        node: 'alpha-host',
        components: [
          { service: 'shop', component: 'web', desiredState: 'running', observedState: observed.web, version: '1.0', drift: observed.web !== 'running', container: 'shop-web', driftFields: [] },
          { service: 'shop', component: 'worker', desiredState: 'running', observedState: 'running', version: '1.0', drift: false, container: 'shop-worker', driftFields: [] },
        ],
        events,
      }),
      liveCheck: () => ({
        node: 'alpha-host',
        cordoned: false,
        containers: [
          { service: 'shop', component: 'web', container: 'shop-web', state: observed.web, image: 'img/web:1.0', version: '1.0', startedAt: ts('2026-11-30T00:01:00Z'), desiredState: 'running', id: 'a' },
          { service: 'stray', component: '', container: 'stray', state: 'running', image: 'other:2', version: '2', startedAt: undefined, desiredState: 'ignore', id: 'b' },
        ],
        oneOffs: [],
      }),
    },
  };
}

const event = (time: string, kind: string, message: string): mcpv1.Event => ({ time: ts(time), service: 'shop', component: 'web', kind, message, fromState: '', toState: '' });

describe(FleetWatcher.name, () => {
  function makeSut(scripts: Record<string, NodeScript>) {
    const factory = new FakeAgentClientFactory(scripts);
    const sut = new FleetWatcher({
      nodes: NODES,
      connect: async (node) => factory.create({ node, token: 'tok' }),
      clock: new FakeClock(new Date('2026-11-30T00:05:00Z')),
      intervalMs: 60_000,
    });
    return { sut, factory };
  }

  describe('refresh', () => {
    it('should join every node into one view: nodes, services with live state and routes, unmanaged containers', async () => {
      const { sut } = makeSut({ alpha: alphaScript({ web: 'running' }), beta: { unreachable: true } });
      const view = await sut.refresh();
      expect(view.nodes).toEqual([
        expect.objectContaining({ name: 'alpha', state: 'up', agentVersion: '0.1.0', agentNode: 'alpha-host', runningContainers: 2, memoryFreeBytes: 1024, diskFreeBytes: 10 }),
        { name: 'beta', address: '10.0.0.2:9444', state: 'unreachable', error: expect.stringMatching(/unreachable/) },
      ]);
      expect(view.services).toEqual([
        {
          node: 'alpha',
          name: 'shop',
          active: true,
          state: 'ok',
          stale: false,
          components: [
            expect.objectContaining({ name: 'web', observed: 'running', drift: false, health: '-', startedAt: '2026-11-30T00:01:00.000Z', routes: [{ name: '', port: 443, mode: 'l4', hostname: 'shop.example', hostPort: 23456 }] }),
            expect.objectContaining({ name: 'worker', observed: 'running', startedAt: undefined }),
          ],
        },
      ]);
      expect(view.unmanaged).toEqual([{ node: 'alpha', container: 'stray', image: 'other:2', state: 'running' }]);
    });

    it('should mark a service drifted when a component is not in its desired state', async () => {
      const { sut } = makeSut({ alpha: alphaScript({ web: 'exited' }), beta: alphaScript({ web: 'running' }) });
      const view = await sut.refresh();
      const alpha = view.services.find((s) => s.node === 'alpha')!;
      expect(alpha.state).toBe('drift');
      expect(alpha.components[0]).toMatchObject({ observed: 'exited', drift: true });
    });

    it('should reuse one client per node across polls', async () => {
      const { sut, factory } = makeSut({ alpha: alphaScript({ web: 'running' }), beta: { tokenRejected: true } });
      await sut.refresh();
      await sut.refresh();
      expect(factory.created.map((c) => c.node.name)).toEqual(['alpha', 'beta']);
      expect((await sut.refresh()).nodes[1]).toMatchObject({ state: 'unauthenticated', error: 'token rejected by beta: run mcp login' });
      sut.stop();
    });
  });

  describe('subscribe', () => {
    it('should announce only events it has not announced before, newest first', async () => {
      const events = [event('2026-11-30T00:02:00Z', 'deployed', 'one')];
      const script = alphaScript({ web: 'running' }, events);
      const { sut } = makeSut({ alpha: script, beta: { unreachable: true } });
      const updates: string[] = [];
      const unsubscribe = sut.subscribe((u) => updates.push(u.type === 'events' ? `events:${u.events.map((e) => e.message).join(',')}` : 'fleet'));
      await sut.refresh();
      events.unshift(event('2026-11-30T00:03:00Z', 'drift', 'two'), event('2026-11-30T00:04:00Z', 'state_changed', 'three'));
      await sut.refresh();
      await sut.refresh();
      unsubscribe();
      sut.stop();
      expect(updates).toEqual(['events:one', 'fleet', 'events:three,two']);
      expect(sut.recentEvents().map((e) => e.message)).toEqual(['three', 'two', 'one']);
    });
  });

  describe('serviceDetail', () => {
    const noBackups = () => ({ snapshots: [], runs: [] });
    const noJobs = () => ({ jobs: [], runs: [] });
    const status = () => ({ node: 'alpha-host', components: [], events: [event('2026-11-30T00:02:00Z', 'deployed', 'one')] });

    it('should give the events and the releases of the service', async () => {
      const { sut, factory } = makeSut({
        alpha: {
          unary: {
            getServiceStatus: status,
            listReleases: () => ({
              service: 'shop',
              releases: [{ number: 2, service: 'shop', component: 'web', image: 'img/web:2.0', digest: 'sha256:ab', deployedAt: ts('2026-11-30T00:03:00Z'), deployedBy: 'ops', outcome: 'rolled_back', rollbackOf: 0, message: 'health check GET /up → 503 after 60s', spec: undefined }],
            }),
            listBackups: noBackups,
            listJobs: noJobs,
          },
        },
        beta: {},
      });
      const detail = await sut.serviceDetail('alpha', 'shop');
      expect(detail).toEqual({
        node: 'alpha',
        service: 'shop',
        events: [expect.objectContaining({ node: 'alpha', kind: 'deployed', message: 'one' })],
        releases: [{ release: 2, component: 'web', image: 'img/web:2.0', digest: 'sha256:ab', deployedAt: '2026-11-30T00:03:00.000Z', deployedBy: 'ops', outcome: 'rolled_back', message: 'health check GET /up → 503 after 60s', rollbackOf: 0 }],
        backups: [],
        jobs: [],
      });
      expect(factory.calls).toContainEqual(expect.objectContaining({ method: 'listReleases', request: { service: 'shop', component: '' } }));
    });

    it('should say "no releases" (undefined) for an agent without ListReleases, and fail on other errors', async () => {
      const { sut } = makeSut({
        alpha: { unary: { getServiceStatus: status, listReleases: () => agentError('alpha', 'UNIMPLEMENTED', 'alpha: unknown method'), listBackups: noBackups, listJobs: noJobs } },
        beta: { unary: { getServiceStatus: status, listReleases: () => agentError('beta', 'PERMISSION_DENIED', 'beta: no'), listBackups: noBackups, listJobs: noJobs } },
      });
      expect((await sut.serviceDetail('alpha', 'shop')).releases).toBeUndefined();
      await expect(sut.serviceDetail('beta', 'shop')).rejects.toThrow('beta: no');
    });

    it("should give the newest backup runs from the agent's record only (runs_only: restic is not asked), failures with their reason", async () => {
      const { sut, factory } = makeSut({
        alpha: {
          unary: {
            getServiceStatus: status,
            listReleases: () => ({ service: 'shop', releases: [] }),
            listJobs: noJobs,
            listBackups: () => ({
              snapshots: [],
              runs: [
                { time: ts('2026-11-30T04:00:01Z'), ok: false, snapshotId: '', files: 0, bytes: 0, durationSeconds: 0.4, pausedSeconds: 0.1, message: 'restic backup: no space left on device' },
                { time: ts('2026-11-30T03:00:05Z'), ok: true, snapshotId: '4f2a9c1e', files: 10000, bytes: 1073741824, durationSeconds: 5.5, pausedSeconds: 5.1, message: '' },
              ],
            }),
          },
        },
        beta: { unary: { getServiceStatus: status, listReleases: () => ({ service: 'shop', releases: [] }), listBackups: () => agentError('beta', 'UNIMPLEMENTED', 'beta: unknown method'), listJobs: noJobs } },
      });

      const detail = await sut.serviceDetail('alpha', 'shop');

      expect(detail.backups).toEqual([
        { time: '2026-11-30T04:00:01.000Z', ok: false, snapshotId: '', files: 0, bytes: 0, durationSeconds: 0.4, pausedSeconds: 0.1, message: 'restic backup: no space left on device' },
        { time: '2026-11-30T03:00:05.000Z', ok: true, snapshotId: '4f2a9c1e', files: 10000, bytes: 1073741824, durationSeconds: 5.5, pausedSeconds: 5.1, message: '' },
      ]);
      expect(factory.calls).toContainEqual(expect.objectContaining({ method: 'listBackups', request: { service: 'shop', runsOnly: true } }));
      expect((await sut.serviceDetail('beta', 'shop')).backups).toBeUndefined();
    });

    it("should give each job's last run (time, result, duration), its recent runs and next run, from ListJobs (SPEC §12)", async () => {
      const run = (over: Partial<mcpv1.JobRun>): mcpv1.JobRun => ({ id: 7, job: 'report', trigger: 'schedule', startedAt: ts('2026-11-30T03:00:00Z'), finishedAt: ts('2026-11-30T03:00:04Z'), result: 'failed', exitCode: 3, durationMs: 4200, container: 'shop-web-run-0123abcd', message: 'exited 3', output: Buffer.alloc(0), ...over });
      const spec = (name: string, schedule: string, tz = ''): mcpv1.JobSpec => ({ name, component: 'web', image: '', cmd: ['bin/x'], schedule, tz, timeout: '', concurrency: '' });
      const { sut, factory } = makeSut({
        alpha: {
          unary: {
            getServiceStatus: status,
            listReleases: () => ({ service: 'shop', releases: [] }),
            listBackups: noBackups,
            listJobs: () => ({
              runs: [],
              jobs: [
                {
                  service: 'shop',
                  spec: spec('report', '0 3 * * *', 'Europe/Berlin'),
                  scheduled: true,
                  lastRun: run({}),
                  nextRun: ts('2026-12-01T02:00:00Z'),
                  running: 0,
                  recentRuns: [run({}), run({ id: 6, startedAt: ts('2026-11-29T03:00:00Z'), finishedAt: ts('2026-11-29T03:00:01Z'), result: 'succeeded', exitCode: 0, durationMs: 900, message: '' })],
                },
                // An agent from before ListJobs' `recent`: no history, the last run stands for it.
                { service: 'shop', spec: spec('tidy', '@daily'), scheduled: true, lastRun: run({ job: 'tidy', result: 'running', exitCode: undefined, finishedAt: undefined, durationMs: 0, message: '' }), nextRun: ts('2026-12-01T00:00:00Z'), running: 1, recentRuns: [] },
                { service: 'shop', spec: spec('fresh', '@hourly'), scheduled: false, lastRun: undefined, nextRun: undefined, running: 0, recentRuns: [] },
              ],
            }),
          },
        },
        beta: { unary: { getServiceStatus: status, listReleases: () => ({ service: 'shop', releases: [] }), listBackups: noBackups, listJobs: () => agentError('beta', 'UNIMPLEMENTED', 'beta: unknown method') } },
      });
      expect((await sut.serviceDetail('alpha', 'shop')).jobs).toEqual([
        {
          name: 'report',
          schedule: '0 3 * * *',
          tz: 'Europe/Berlin',
          scheduled: true,
          running: 0,
          lastRun: { trigger: 'schedule', startedAt: '2026-11-30T03:00:00.000Z', finishedAt: '2026-11-30T03:00:04.000Z', result: 'failed', exitCode: 3, durationMs: 4200, message: 'exited 3' },
          recentRuns: [
            { trigger: 'schedule', startedAt: '2026-11-30T03:00:00.000Z', finishedAt: '2026-11-30T03:00:04.000Z', result: 'failed', exitCode: 3, durationMs: 4200, message: 'exited 3' },
            { trigger: 'schedule', startedAt: '2026-11-29T03:00:00.000Z', finishedAt: '2026-11-29T03:00:01.000Z', result: 'succeeded', exitCode: 0, durationMs: 900, message: '' },
          ],
          nextRun: '2026-12-01T02:00:00.000Z',
        },
        {
          name: 'tidy',
          schedule: '@daily',
          tz: 'UTC',
          scheduled: true,
          running: 1,
          lastRun: { trigger: 'schedule', startedAt: '2026-11-30T03:00:00.000Z', finishedAt: '', result: 'running', durationMs: 0, message: '' },
          recentRuns: [{ trigger: 'schedule', startedAt: '2026-11-30T03:00:00.000Z', finishedAt: '', result: 'running', durationMs: 0, message: '' }],
          nextRun: '2026-12-01T00:00:00.000Z',
        },
        { name: 'fresh', schedule: '@hourly', tz: 'UTC', scheduled: false, running: 0, lastRun: undefined, recentRuns: [], nextRun: '' },
      ]);
      // Not the runs' output: only the job's own ListJobs (with `job`) carries it; the newest 10 runs of each job.
      expect(factory.calls).toContainEqual(expect.objectContaining({ node: 'alpha', method: 'listJobs', request: { service: 'shop', job: '', recent: 10 } }));
      // An agent from before jobs: the page shows no jobs section, the rest of the page stands.
      const old = await sut.serviceDetail('beta', 'shop');
      expect(old.jobs).toBeUndefined();
      expect(old.releases).toEqual([]);
    });
  });

  describe('events stream', () => {
    /** Waits (bounded) for something the watcher does on its own timers. */
    async function until(condition: () => boolean, what: string): Promise<void> {
      const deadline = Date.now() + 5000;
      while (!condition()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }

    it('should put streamed events on the timeline and poll again at once, not at the next interval', async () => {
      const live = { event: event('2026-11-30T00:04:30Z', 'drift', 'killed by hand'), id: 7 };
      const { sut, factory } = makeSut({ alpha: alphaScript({ web: 'running' }, [], () => [live]), beta: { unreachable: true } });
      const messages: string[] = [];
      sut.subscribe((u) => {
        if (u.type === 'events') messages.push(...u.events.map((e) => e.message));
      });
      await until(() => messages.includes('killed by hand'), 'the streamed event');
      const statusCalls = () => factory.calls.filter((c) => c.node === 'alpha' && c.method === 'getServiceStatus').length;
      await until(() => statusCalls() >= 2, 'the poll the event triggers');
      sut.stop();
      expect(factory.calls).toContainEqual(expect.objectContaining({ node: 'alpha', method: 'events', request: { service: '', follow: true, limit: 50, since: undefined } }));
      expect(sut.recentEvents().map((e) => e.message)).toEqual(['killed by hand']);
    });

    it('should leave an agent without the Events RPC to the polls', async () => {
      const unimplemented = () => {
        throw agentError('alpha', 'UNIMPLEMENTED', 'alpha: unknown method Events');
      };
      const { sut, factory } = makeSut({ alpha: alphaScript({ web: 'running' }, [], unimplemented), beta: { unreachable: true } });
      sut.subscribe(() => undefined);
      await until(() => factory.calls.some((c) => c.method === 'events'), 'the first Events call');
      await sut.refresh();
      await sut.refresh();
      sut.stop();
      expect(factory.calls.filter((c) => c.method === 'events')).toHaveLength(1);
    });
  });

  describe('logs', () => {
    it('should turn chunks into lines per stream, joining lines split across chunks', async () => {
      const { sut, factory } = makeSut({
        alpha: {
          logs: () => [
            { data: Buffer.from('one\ntw'), stream: 'stdout' },
            { data: Buffer.from('oops\n'), stream: 'stderr' },
            { data: Buffer.from('o\n\u00e9'), stream: 'stdout' },
            { data: Buffer.from('t\u00e9'.slice(0, 1)), stream: 'stdout' },
          ],
        },
        beta: {},
      });
      const lines = [];
      for await (const line of sut.logs({ node: 'alpha', service: 'shop', component: 'web', tail: 10 }, new AbortController().signal)) lines.push(line);
      expect(lines).toEqual([
        { stream: 'stdout', text: 'one' },
        { stream: 'stderr', text: 'oops' },
        { stream: 'stdout', text: 'two' },
        { stream: 'stdout', text: '\u00e9t' },
      ]);
      expect(factory.calls).toEqual([expect.objectContaining({ method: 'logs', request: { service: 'shop', component: 'web', follow: true, tail: 10, since: '', timestamps: false } })]);
    });
  });
});

describe('buildFleetView', () => {
  it('should keep the services of a node that stopped answering, marked stale', () => {
    const up: NodePoll[] = [{ node: { name: 'alpha', address: 'a' }, ok: false, state: 'unreachable', error: 'gone' }];
    const previous = buildFleetView([], new Date(0));
    previous.services.push({ node: 'alpha', name: 'shop', active: true, state: 'ok', stale: false, components: [] });
    const view = buildFleetView(up, new Date(1000), previous);
    expect(view.services).toEqual([{ node: 'alpha', name: 'shop', active: true, state: 'stale', stale: true, components: [] }]);
  });
});

describe('parseListen', () => {
  it.each([
    ['127.0.0.1:7070', { host: '127.0.0.1', port: 7070 }],
    ['[::1]:0', { host: '::1', port: 0 }],
    ['localhost:8080', { host: 'localhost', port: 8080 }],
    ['0.0.0.0:7070', { host: '0.0.0.0', port: 7070 }],
  ])('should read %s', (text, expected) => {
    expect(parseListen(text)).toEqual(expected);
  });

  it.each(['7070', '127.0.0.1', 'example.com:7070', '127.0.0.1:70000', '::1:7070', '127.0.0.1:-1', ''])('should refuse "%s" with one usage line', (text) => {
    expect(() => parseListen(text)).toThrow(UsageError);
    expect(() => parseListen(text)).toThrow(/^--listen must be an address and port like 127\.0\.0\.1:7070/);
  });
});
