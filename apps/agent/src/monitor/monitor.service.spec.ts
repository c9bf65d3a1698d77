import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Test } from '@nestjs/testing';
import { type Alert, AlertSender, alertSenderFor, CommandAlertSender } from '@mcp/alerts';
import { Clock, type ComponentSpec, type DesiredState } from '@mcp/common';
import { DeployerOptions, HealthProber, HealthStates, KeyedMutex, NetworkProbe, type ProbeResult } from '@mcp/deployer';
import { AgentMetrics } from '@mcp/metrics';
import { ServiceRegistry } from '@mcp/registry';
import { ContainerRuntime, LiveContainers, type ContainerSummary } from '@mcp/runtime';
import { FakeClock, FakeNetworkProbe, FakeRuntime, InMemoryRegistry, RecordingMetrics } from '../../../../test/fakes';
import { makeTestConfig } from '../../../../test/support/test-config';
import { WebhookReceiver } from '@mcp/alerts/testing';
import { AgentConfig } from '../config/agent-config';
import { alertsOptionsFromConfig } from '../config/alert-options';
import { MAX_PROBES_IN_FLIGHT, MONITOR_EVENT, MonitorService } from './monitor.service';

/** Records alerts; the monitor's only use of the port is send(). */
class RecordingAlertSender extends AlertSender {
  readonly sent: Alert[] = [];
  async send(alert: Alert): Promise<void> {
    this.sent.push(alert);
  }
}

/** A runtime whose list() waits for the test to open the gate (for the overlap test). */
class GatedRuntime extends FakeRuntime {
  private open: (() => void) | undefined;
  private gate: Promise<void> | undefined;
  closeGate(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }
  openGate(): void {
    this.open?.();
    this.gate = undefined;
  }
  override async list(): Promise<ContainerSummary[]> {
    const result = await super.list();
    if (this.gate) await this.gate;
    return result;
  }
}

const IMAGE = 'localhost/mcp-test/busybox:1.0';
const MINUTE = 60_000;

function component(name: string): ComponentSpec {
  return { name, image: IMAGE, ports: [], volumes: [], cmd: [], env: [], routes: [] };
}

describe(MonitorService.name, () => {
  let clock: FakeClock;
  let registry: InMemoryRegistry;
  let runtime: GatedRuntime;
  let alerts: AlertSender;
  let recorder: RecordingAlertSender;
  let config: AgentConfig;
  let locks: KeyedMutex;
  let sut: MonitorService;
  let live: LiveContainers;
  let metrics: RecordingMetrics;
  let module: { init(): Promise<unknown>; close(): Promise<void> };
  let network: NetworkProbe;
  let health: HealthStates;

  async function build(overrides: { alerts?: AlertSender | 'from-config'; monitor?: Partial<AgentConfig['monitor']> } = {}): Promise<void> {
    live = new LiveContainers(runtime, { now: () => clock.now() });
    metrics = new RecordingMetrics();
    config = makeTestConfig({ env: { PATH: process.env.PATH }, monitor: { flapThreshold: 3, flapWindowMs: 10 * MINUTE, alertCooldownMs: 15 * MINUTE, eventRetentionMs: 30 * 24 * 60 * MINUTE, ...overrides.monitor } });
    alerts = overrides.alerts === 'from-config' ? alertSenderFor(alertsOptionsFromConfig(config)) : (overrides.alerts ?? recorder);
    const moduleRef = await Test.createTestingModule({
      providers: [
        MonitorService,
        { provide: AgentConfig, useValue: config },
        { provide: ServiceRegistry, useValue: registry },
        { provide: LiveContainers, useValue: live },
        { provide: Clock, useValue: clock },
        { provide: AlertSender, useValue: alerts },
        { provide: KeyedMutex, useValue: locks },
        { provide: AgentMetrics, useValue: metrics },
        { provide: NetworkProbe, useValue: network },
        { provide: DeployerOptions, useValue: new DeployerOptions({ bindAddress: '127.0.0.1', routeBindAddress: '127.0.0.1', routeDomain: 'test', portRangeStart: 10000, portRangeEnd: 60000, certDir: '/nonexistent', stopTimeoutSeconds: 1 }) },
        { provide: ContainerRuntime, useValue: runtime },
        HealthProber,
        HealthStates,
      ],
    }).compile();
    sut = moduleRef.get(MonitorService);
    health = moduleRef.get(HealthStates);
    module = moduleRef;
  }

  /** A registered component observed as `observed`, with its container in `state` (or none). */
  async function given(input: { service: string; component: string; desired: DesiredState; observed: string; state?: string }): Promise<void> {
    const existing = await registry.getService(input.service);
    await registry.saveService({ name: input.service, active: existing?.active ?? true, components: [{ spec: component(input.component), desiredState: input.desired }] });
    const name = input.service === input.component ? input.service : `${input.service}-${input.component}`;
    await registry.recordObserved({ service: input.service, component: input.component, observedState: input.observed, containerName: name });
    if (input.state) runtime.seedContainer({ name, image: IMAGE, state: input.state });
  }

  async function observedOf(service: string, name: string): Promise<string | undefined> {
    return (await registry.getService(service))?.components.find((c) => c.name === name)?.observedState;
  }

  beforeEach(async () => {
    clock = new FakeClock(new Date('2026-11-23T12:00:00Z'));
    registry = new InMemoryRegistry({ clock });
    runtime = new GatedRuntime({ images: [IMAGE], clock });
    recorder = new RecordingAlertSender();
    locks = new KeyedMutex();
    network = new FakeNetworkProbe();
    await build();
  });

  describe('runOnce', () => {
    it('should list containers exactly once per tick, whatever the number of components', async () => {
      await given({ service: 'app', component: 'web', desired: 'running', observed: 'running', state: 'running' });
      await given({ service: 'app', component: 'db', desired: 'running', observed: 'running', state: 'running' });
      await given({ service: 'mc-proxy', component: 'mc-proxy', desired: 'running', observed: 'unknown', state: 'exited' });
      runtime.clearCalls();

      await sut.runOnce();
      await sut.runOnce();

      expect(runtime.callsTo('list')).toHaveLength(2);
      expect(runtime.calls.map((call) => call.method)).toEqual(['list', 'list']);
    });

    it('should report each tick\'s duration to the metrics', async () => {
      await sut.runOnce();
      await sut.runOnce();
      expect(metrics.ticks).toHaveLength(2);
      expect(metrics.ticks.every((seconds) => seconds >= 0)).toBe(true);
    });

    it('should record a state change with from and to, and update the observed state', async () => {
      await given({ service: 'app', component: 'web', desired: 'stopped', observed: 'running', state: 'running' });
      runtime.setState('app-web', 'exited', 0);

      const result = await sut.runOnce();

      expect(result.changes).toEqual([{ service: 'app', component: 'web', from: 'running', to: 'exited' }]);
      expect(await observedOf('app', 'web')).toBe('exited');
      const events = await registry.listEvents({ service: 'app' });
      expect(events).toEqual([expect.objectContaining({ kind: MONITOR_EVENT.stateChanged, fromState: 'running', toState: 'exited', component: 'web' })]);
      expect(recorder.sent).toEqual([]);
    });

    it('should record nothing when nothing changed', async () => {
      await given({ service: 'app', component: 'web', desired: 'running', observed: 'running', state: 'running' });

      const result = await sut.runOnce();

      expect(result.changes).toEqual([]);
      expect(await registry.listEvents({})).toEqual([]);
    });

    it('should flag drift and alert when a running container is killed', async () => {
      await given({ service: 'app', component: 'web', desired: 'running', observed: 'running', state: 'running' });
      runtime.setState('app-web', 'exited', 137);

      const result = await sut.runOnce();

      expect(result.drifting).toEqual(['app/web']);
      expect(recorder.sent).toEqual([
        expect.objectContaining({ kind: 'drift', node: 'test-node', service: 'app', component: 'web', desired: 'running', observed: 'exited' }),
      ]);
      expect((await registry.listEvents({ service: 'app' })).map((event) => event.kind).sort()).toEqual([MONITOR_EVENT.drift, MONITOR_EVENT.stateChanged]);
    });

    it('should judge a container caught stopping once it settles, and alert the settled state', async () => {
      await given({ service: 'app', component: 'web', desired: 'running', observed: 'running', state: 'running' });
      runtime.setState('app-web', 'stopping');

      const first = await sut.runOnce();

      expect(first.drifting).toEqual([]);
      expect(recorder.sent).toEqual([]);
      expect(await observedOf('app', 'web')).toBe('stopping');
      await runtime.remove({ name: 'app-web' });
      clock.advance(MINUTE);
      const second = await sut.runOnce();

      expect(second.drifting).toEqual(['app/web']);
      expect(recorder.sent).toEqual([expect.objectContaining({ kind: 'drift', component: 'web', observed: 'removed' })]);
    });

    it('should judge a container that stays stopping past one judging as it is', async () => {
      await given({ service: 'app', component: 'web', desired: 'running', observed: 'running', state: 'running' });
      runtime.setState('app-web', 'stopping');

      await sut.runOnce();
      clock.advance(MINUTE);
      const second = await sut.runOnce();

      expect(second.drifting).toEqual(['app/web']);
      expect(recorder.sent).toEqual([expect.objectContaining({ kind: 'drift', observed: 'stopping' })]);
    });

    it('should observe a missing container as removed, which drifts', async () => {
      await given({ service: 'app', component: 'web', desired: 'running', observed: 'running' });

      const result = await sut.runOnce();

      expect(await observedOf('app', 'web')).toBe('removed');
      expect(result.drifting).toEqual(['app/web']);
    });

    it('should flag a running container whose desired state is stopped', async () => {
      await given({ service: 'app', component: 'web', desired: 'stopped', observed: 'running', state: 'running' });

      const result = await sut.runOnce();

      expect(result.drifting).toEqual(['app/web']);
      expect(recorder.sent.map((alert) => alert.kind)).toEqual(['drift']);
    });

    it('should alert once per drift, not on every tick', async () => {
      await given({ service: 'app', component: 'web', desired: 'running', observed: 'running', state: 'exited' });

      await sut.runOnce();
      clock.advance(MINUTE);
      await sut.runOnce();

      expect(recorder.sent.map((alert) => alert.kind)).toEqual(['drift']);
    });

    it('should raise recovered when the drift clears', async () => {
      await given({ service: 'app', component: 'web', desired: 'running', observed: 'running', state: 'exited' });
      await sut.runOnce();
      runtime.setState('app-web', 'running');
      clock.advance(MINUTE);

      const result = await sut.runOnce();

      expect(result.drifting).toEqual([]);
      expect(recorder.sent.map((alert) => alert.kind)).toEqual(['drift', 'recovered']);
      expect((await registry.listEvents({ service: 'app', limit: 1 }))[0]).toEqual(expect.objectContaining({ kind: MONITOR_EVENT.recovered }));
    });

    it('should never flag a component whose desired state is ignore', async () => {
      await given({ service: 'legacy', component: 'legacy', desired: 'ignore', observed: 'running', state: 'exited' });

      const result = await sut.runOnce();

      expect(result.drifting).toEqual([]);
      expect(recorder.sent).toEqual([]);
      expect(result.changes).toHaveLength(1);
    });

    it('should flag flapping at the threshold of transitions within the window', async () => {
      await build({ monitor: { flapThreshold: 3, flapWindowMs: 10 * MINUTE, alertCooldownMs: 0 } });
      await given({ service: 'app', component: 'web', desired: 'ignore', observed: 'running', state: 'running' });
      const states = ['exited', 'running', 'exited'];
      const flapping: boolean[] = [];

      for (const state of states) {
        runtime.setState('app-web', state);
        clock.advance(2 * MINUTE);
        await sut.runOnce();
        flapping.push(recorder.sent.some((alert) => alert.kind === 'flapping'));
      }

      expect(flapping).toEqual([false, false, true]);
      expect((await registry.listEvents({ service: 'app' })).filter((event) => event.kind === MONITOR_EVENT.flapping)).toHaveLength(1);
    });

    it('should not count the first observation of a component as a transition', async () => {
      await build({ monitor: { flapThreshold: 3, flapWindowMs: 10 * MINUTE, alertCooldownMs: 0 } });
      await given({ service: 'app', component: 'web', desired: 'ignore', observed: 'unknown', state: 'running' });

      // unknown → running is the first sighting; then two real changes: below the threshold of 3.
      for (const state of ['running', 'exited', 'running']) {
        runtime.setState('app-web', state);
        clock.advance(MINUTE);
        await sut.runOnce();
      }

      expect((await registry.listEvents({ service: 'app' })).filter((event) => event.kind === MONITOR_EVENT.stateChanged)).toHaveLength(3);
      expect(recorder.sent.filter((alert) => alert.kind === 'flapping')).toEqual([]);
      expect((await registry.listEvents({ service: 'app' })).filter((event) => event.kind === MONITOR_EVENT.flapping)).toEqual([]);
    });

    it('should not flag transitions spread wider than the window', async () => {
      await build({ monitor: { flapThreshold: 3, flapWindowMs: 10 * MINUTE } });
      await given({ service: 'app', component: 'web', desired: 'ignore', observed: 'running', state: 'running' });

      for (const state of ['exited', 'running', 'exited', 'running']) {
        runtime.setState('app-web', state);
        clock.advance(6 * MINUTE);
        await sut.runOnce();
      }

      expect(recorder.sent.filter((alert) => alert.kind === 'flapping')).toEqual([]);
    });

    it('should hold back an alert of the same kind for the same component within the cooldown', async () => {
      await build({ monitor: { flapThreshold: 100 } });
      await given({ service: 'app', component: 'web', desired: 'running', observed: 'running', state: 'running' });
      await given({ service: 'app', component: 'api', desired: 'running', observed: 'running', state: 'running' });
      const cycle = async (state: string): Promise<void> => {
        runtime.setState('app-web', state);
        clock.advance(MINUTE);
        await sut.runOnce();
      };

      await cycle('exited'); // drift
      await cycle('running'); // recovered
      await cycle('exited'); // drift again within 15 min: held back
      runtime.setState('app-api', 'exited'); // another component: its own cooldown
      await cycle('running'); // recovered again: held back
      clock.advance(15 * MINUTE);
      await cycle('exited'); // past the cooldown: sent

      expect(recorder.sent.map((alert) => `${alert.component}:${alert.kind}`)).toEqual(['web:drift', 'web:recovered', 'api:drift', 'web:drift']);
    });

    it('should leave a service alone while an operation on it is in flight', async () => {
      await given({ service: 'app', component: 'web', desired: 'running', observed: 'running' });
      let finish!: () => void;
      const deploying = locks.run('app', () => new Promise<void>((resolve) => (finish = resolve)));

      const during = await sut.runOnce();
      finish();
      await deploying;
      const after = await sut.runOnce();

      expect(during).toEqual(expect.objectContaining({ busy: ['app'], changes: [], drifting: [] }));
      expect(after.changes).toEqual([{ service: 'app', component: 'web', from: 'running', to: 'removed' }]);
      expect(after.drifting).toEqual(['app/web']);
    });

    it('should prune events older than the retention', async () => {
      await build({ monitor: { eventRetentionMs: 24 * 60 * MINUTE } });
      await given({ service: 'app', component: 'web', desired: 'running', observed: 'running', state: 'running' });
      await registry.addEvent({ service: 'app', component: 'web', kind: 'deployed', message: 'old', time: new Date(clock.now().getTime() - 2 * 24 * 60 * MINUTE) });
      await registry.addEvent({ service: 'app', component: 'web', kind: 'deployed', message: 'recent', time: new Date(clock.now().getTime() - 60 * MINUTE) });

      const result = await sut.runOnce();

      expect(result.pruned).toBe(1);
      expect((await registry.listEvents({})).map((event) => event.message)).toEqual(['recent']);
    });

    it('should skip a tick while the previous one is still running', async () => {
      await given({ service: 'app', component: 'web', desired: 'running', observed: 'running', state: 'running' });
      runtime.clearCalls();
      runtime.closeGate();

      const first = sut.runOnce();
      const second = await sut.runOnce();
      runtime.openGate();
      const firstResult = await first;

      expect(second.skipped).toBe(true);
      expect(firstResult.skipped).toBe(false);
      expect(runtime.callsTo('list')).toHaveLength(1);
    });

    it('should finish the tick when the alert command hangs, killing it at the timeout', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-monitor-'));
      try {
        const script = path.join(dir, 'hang.sh');
        const pidFile = path.join(dir, 'pid');
        fs.writeFileSync(script, '#!/bin/sh\necho $$ > "$1"\nexec sleep 300\n', { mode: 0o755 });
        await build({ alerts: new CommandAlertSender({ command: [script, pidFile], timeoutMs: 300, baseEnv: { PATH: process.env.PATH } }) });
        await given({ service: 'app', component: 'web', desired: 'running', observed: 'running', state: 'exited' });

        const result = await sut.runOnce();
        await sut.settleAlerts();

        expect(result.alerts.map((alert) => alert.kind)).toEqual(['drift']);
        const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
        expect(fs.existsSync(`/proc/${pid}`) && !/\) [ZX] /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))).toBe(false);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
  describe('health (SPEC §8: the monitor keeps probing after a deploy)', () => {
    /** A routed component whose container runs on `hostPort`, with a declared check (or the implicit one). */
    async function routed(input: { service: string; hostPort: number; health?: ComponentSpec['health']; desired?: DesiredState; state?: string }): Promise<void> {
      const spec: ComponentSpec = { ...component(input.service), routes: [{ port: 443, mode: 'l4' }], ...(input.health ? { health: input.health } : {}) };
      await registry.saveService({ name: input.service, active: true, components: [{ spec, desiredState: input.desired ?? 'running' }] });
      await registry.recordDeployment({
        service: input.service,
        component: input.service,
        routes: [{ name: '', port: 443, mode: 'l4', hostname: `${input.service}.test`, hostPort: input.hostPort }],
        observedState: 'running',
        version: '1.0',
        containerName: input.service,
        containerId: '',
        deployedSpecHash: 'h',
      });
      runtime.seedContainer({ name: input.service, image: IMAGE, state: input.state ?? 'running' });
    }

    it('should probe each running component at each tick (declared or implicit check) with no podman call beyond the listing', async () => {
      await routed({ service: 'api', hostPort: 20001, health: { http: '/up' } });
      await routed({ service: 'db', hostPort: 20002, health: { tcp: true } });
      await routed({ service: 'web', hostPort: 20003 });
      runtime.clearCalls();

      const result = await sut.runOnce();

      expect(runtime.calls.map((call) => call.method)).toEqual(['list']);
      expect((network as FakeNetworkProbe).calls).toEqual(
        expect.arrayContaining([{ kind: 'http', port: 20001, path: '/up' }, { kind: 'tcp', port: 20002 }, { kind: 'tcp', port: 20003 }]),
      );
      expect(result.health.map((h) => [h.service, h.status]).sort()).toEqual([['api', 'healthy'], ['db', 'healthy'], ['web', 'healthy']]);
      expect(health.status({ service: 'api', component: 'api' })).toBe('healthy');
      expect(await registry.listEvents({})).toEqual([]);
    });

    it('should turn a failing component unhealthy with one event and one unhealthy alert (cooldown as drift), then healthy again with recovered', async () => {
      await routed({ service: 'api', hostPort: 20001, health: { http: '/up' } });
      await sut.runOnce();
      clock.advance(2 * MINUTE);
      (network as FakeNetworkProbe).answer(20001, { ok: false, detail: 'GET /up → 503' });

      const first = await sut.runOnce();
      clock.advance(MINUTE);
      await sut.runOnce();

      expect(first.health).toEqual([{ service: 'api', component: 'api', status: 'unhealthy', detail: 'GET /up: GET /up → 503' }]);
      expect(health.status({ service: 'api', component: 'api' })).toBe('unhealthy');
      expect(recorder.sent).toEqual([
        expect.objectContaining({ kind: 'unhealthy', node: 'test-node', service: 'api', component: 'api', desired: 'running', observed: 'running', message: 'health check GET /up: GET /up → 503' }),
      ]);
      expect((await registry.listEvents({ service: 'api' })).map((e) => [e.kind, e.message])).toEqual([[MONITOR_EVENT.unhealthy, 'health check GET /up: GET /up → 503']]);

      (network as FakeNetworkProbe).answer(20001, { ok: true, detail: 'GET /up → 200' });
      await sut.runOnce();
      (network as FakeNetworkProbe).answer(20001, { ok: false, detail: 'GET /up → 500' });
      clock.advance(MINUTE);
      await sut.runOnce();

      expect(recorder.sent.map((alert) => alert.kind)).toEqual(['unhealthy', 'recovered']);
      expect((await registry.listEvents({ service: 'api' })).map((e) => e.kind)).toEqual([MONITOR_EVENT.unhealthy, MONITOR_EVENT.healthy, MONITOR_EVENT.unhealthy]);
      clock.advance(15 * MINUTE);
      (network as FakeNetworkProbe).answer(20001, { ok: true, detail: 'GET /up → 200' });
      await sut.runOnce();
      (network as FakeNetworkProbe).answer(20001, { ok: false, detail: 'GET /up → 500' });
      await sut.runOnce();
      expect(recorder.sent.map((alert) => alert.kind)).toEqual(['unhealthy', 'recovered', 'recovered', 'unhealthy']);
    });

    it('should call a container that podman started within its start_period and that fails "starting", without alerting', async () => {
      await routed({ service: 'api', hostPort: 20001, health: { cmd: ['/bin/check'], start_period: '30s' } });
      runtime.onExec('api', () => ({ exitCode: 1, output: 'not yet\n' }));

      const young = await sut.runOnce();
      clock.advance(31_000);
      const old = await sut.runOnce();

      expect(runtime.callsTo('execIn').map((call) => call.args.cmd)).toEqual([['/bin/check'], ['/bin/check']]);
      expect(young.health.map((h) => h.status)).toEqual(['starting']);
      expect(young.alerts).toEqual([]);
      expect(old.health).toEqual([{ service: 'api', component: 'api', status: 'unhealthy', detail: 'cmd /bin/check: /bin/check → exit 1 (not yet)' }]);
      expect(recorder.sent.map((alert) => alert.kind)).toEqual(['unhealthy']);
    });

    it('should not probe a component that is not running or not desired running: its health is -', async () => {
      await routed({ service: 'api', hostPort: 20001, state: 'exited' });
      await routed({ service: 'web', hostPort: 20003, desired: 'stopped' });
      health.set({ service: 'api', component: 'api', status: 'healthy', detail: 'from the deploy' });

      const result = await sut.runOnce();

      expect((network as FakeNetworkProbe).calls).toEqual([]);
      expect(result.health).toEqual([]);
      expect(health.status({ service: 'api', component: 'api' })).toBe('-');
      expect(recorder.sent.map((alert) => alert.kind)).toEqual(['drift', 'drift']);
    });

    it('should leave a service with a deploy in flight to the deploy', async () => {
      await routed({ service: 'api', hostPort: 20001 });
      health.set({ service: 'api', component: 'api', status: 'starting', detail: 'deploying release 2' });
      (network as FakeNetworkProbe).answer(20001, { ok: false, detail: 'refused' });
      let release!: () => void;
      const held = locks.run('api', () => new Promise<void>((resolve) => (release = resolve)));

      const result = await sut.runOnce();
      release();
      await held;

      expect(result.health).toEqual([]);
      expect(health.status({ service: 'api', component: 'api' })).toBe('starting');
    });

    it('should cut off a probe that never answers at its timeout, and run at most MAX_PROBES_IN_FLIGHT at once', async () => {
      let inFlight = 0;
      let most = 0;
      class SlowProbe extends NetworkProbe {
        async http(): Promise<ProbeResult> {
          return new Promise(() => undefined); // never answers
        }
        async tcp(): Promise<ProbeResult> {
          inFlight++;
          most = Math.max(most, inFlight);
          await new Promise((resolve) => setTimeout(resolve, 5));
          inFlight--;
          return { ok: true, detail: 'ok' };
        }
      }
      network = new SlowProbe();
      await build();
      await routed({ service: 'hung', hostPort: 20000, health: { http: '/up', timeout: '50ms' } });
      for (let i = 1; i <= MAX_PROBES_IN_FLIGHT + 8; i++) await routed({ service: `s${i}`, hostPort: 20000 + i });
      clock.advance(2 * MINUTE);

      const result = await sut.runOnce();

      expect(result.health.find((h) => h.service === 'hung')).toEqual({ service: 'hung', component: 'hung', status: 'unhealthy', detail: 'GET /up: no answer within 50 ms' });
      expect(result.health.filter((h) => h.status === 'healthy')).toHaveLength(MAX_PROBES_IN_FLIGHT + 8);
      expect(most).toBeLessThanOrEqual(MAX_PROBES_IN_FLIGHT);
      expect(most).toBeGreaterThan(1);
    });
  });

  describe('before the first listing', () => {
    it('should not judge from memory that has not been listed yet (an event arriving first)', async () => {
      await build({ monitor: { enabled: true } });
      await given({ service: 'app', component: 'web', desired: 'running', observed: 'running', state: 'running' });
      await given({ service: 'app', component: 'db', desired: 'running', observed: 'running', state: 'running' });
      await module.init();
      runtime.closeGate();
      live.follow();
      while (runtime.openEventStreams === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      runtime.setState('app-web', 'paused');
      await sut.judgementsSettled();

      expect(recorder.sent).toEqual([]);

      runtime.openGate();
      while (!live.live) await new Promise((resolve) => setTimeout(resolve, 1));
      await sut.judgementsSettled();
      expect(recorder.sent.map((alert) => [alert.kind, alert.component, alert.observed])).toEqual([['drift', 'web', 'paused']]);
      await live.stop();
      await module.close();
    });
  });

  describe('from podman events (no tick)', () => {
    beforeEach(async () => {
      await build({ monitor: { enabled: true } });
      await given({ service: 'app', component: 'web', desired: 'running', observed: 'running', state: 'running' });
      await given({ service: 'app', component: 'db', desired: 'running', observed: 'running', state: 'running' });
      await module.init();
      live.follow();
      while (!live.live) await new Promise((resolve) => setTimeout(resolve, 5));
      await sut.judgementsSettled();
      runtime.clearCalls();
      recorder.sent.length = 0;
    });

    afterEach(async () => {
      await live.stop();
      await module.close();
    });

    it('should record and alert a container killed by hand without listing containers', async () => {
      runtime.setState('app-web', 'exited', 137);
      await sut.judgementsSettled();

      expect(await observedOf('app', 'web')).toBe('exited');
      expect(recorder.sent.map((alert) => [alert.kind, alert.component, alert.observed])).toEqual([['drift', 'web', 'exited']]);
      expect(runtime.callsTo('list')).toEqual([]);
    });

    it('should alert a container removed by hand, then its recovery when it is back', async () => {
      await runtime.remove({ name: 'app-db' });
      await sut.judgementsSettled();
      runtime.seedContainer({ name: 'app-db', image: IMAGE, state: 'running' });
      await sut.judgementsSettled();

      expect(recorder.sent.map((alert) => [alert.kind, alert.observed])).toEqual([['drift', 'removed'], ['recovered', 'running']]);
      expect((await registry.listEvents({ service: 'app', component: 'db' })).map((event) => event.kind)).toEqual(
        expect.arrayContaining([MONITOR_EVENT.drift, MONITOR_EVENT.recovered, MONITOR_EVENT.stateChanged]),
      );
    });

    it('should detect flapping from events with the same threshold, and keep the cooldown', async () => {
      for (let i = 0; i < 2; i++) {
        runtime.setState('app-web', 'exited', 1);
        await sut.judgementsSettled();
        runtime.setState('app-web', 'running');
        await sut.judgementsSettled();
        clock.advance(1000);
      }
      // 4 transitions within the window, threshold 3: one flapping alert (cooldown), one drift, one recovered.
      expect(recorder.sent.map((alert) => alert.kind)).toEqual(['drift', 'recovered', 'flapping']);
    });

    it('should leave a service alone while an operation on it holds its lock', async () => {
      let release!: () => void;
      const held = locks.run('app', () => new Promise<void>((resolve) => (release = resolve)));
      await runtime.remove({ name: 'app-web' });
      await sut.judgementsSettled();
      expect(recorder.sent).toEqual([]);
      release();
      await held;
    });
  });

  describe('alerts through the command and the webhook (loopback receiver)', () => {
    let receiver: WebhookReceiver;
    let url: string;
    let dir: string;

    const webhook = (overrides: Partial<NonNullable<AgentConfig['monitor']['alertWebhook']>> = {}): AgentConfig['monitor']['alertWebhook'] => ({
      url,
      format: 'json',
      timeoutMs: 10_000,
      attempts: 4,
      ...overrides,
    });

    beforeEach(async () => {
      receiver = new WebhookReceiver();
      url = await receiver.start();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-monitor-webhook-'));
    });

    afterEach(async () => {
      await receiver.close();
      await sut.settleAlerts();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('should deliver each alert once per cooldown to both the command and the webhook', async () => {
      const log = path.join(dir, 'alerts.log');
      const script = path.join(dir, 'alert.sh');
      fs.writeFileSync(script, '#!/bin/sh\necho "$MCP_ALERT_KIND $MCP_ALERT_SERVICE/$MCP_ALERT_COMPONENT" >> "$1"\n', { mode: 0o755 });
      await build({ alerts: 'from-config', monitor: { flapThreshold: 100, alertCommand: [script, log], alertWebhook: webhook() } });
      await given({ service: 'app', component: 'web', desired: 'running', observed: 'running', state: 'running' });
      const cycle = async (state: string): Promise<void> => {
        runtime.setState('app-web', state);
        clock.advance(MINUTE);
        await sut.runOnce();
      };

      await cycle('exited'); // drift
      await cycle('running'); // recovered
      await cycle('exited'); // drift within the cooldown: held back
      await cycle('running'); // recovered within the cooldown: held back
      clock.advance(15 * MINUTE);
      await cycle('exited'); // past the cooldown: sent again
      await sut.settleAlerts();

      expect(receiver.bodies().map((body) => `${body.kind} ${body.service}/${body.component}`)).toEqual(['drift app/web', 'recovered app/web', 'drift app/web']);
      expect(receiver.bodies()[0]).toEqual({
        kind: 'drift',
        node: config.agent.nodeName,
        service: 'app',
        component: 'web',
        desired: 'running',
        observed: 'exited',
        message: 'desired running, observed exited',
        time: '2026-11-23T12:01:00.000Z',
      });
      expect(fs.readFileSync(log, 'utf8')).toBe('drift app/web\nrecovered app/web\ndrift app/web\n');
    });

    it('should retry the webhook after a 500 until it is delivered', async () => {
      await build({ alerts: 'from-config', monitor: { alertWebhook: webhook() } });
      await given({ service: 'app', component: 'web', desired: 'running', observed: 'running', state: 'exited' });
      receiver.answer(500);

      const result = await sut.runOnce();
      await sut.settleAlerts();

      expect(result.alerts.map((alert) => alert.kind)).toEqual(['drift']);
      expect(receiver.received).toHaveLength(2);
      expect(receiver.received[1].body).toBe(receiver.received[0].body);
    });

    it('should finish every tick while the webhook receiver never answers', async () => {
      await build({ alerts: 'from-config', monitor: { alertWebhook: webhook({ timeoutMs: 600_000, attempts: 1 }) } });
      await given({ service: 'app', component: 'web', desired: 'running', observed: 'running', state: 'exited' });
      await given({ service: 'app', component: 'api', desired: 'running', observed: 'running', state: 'running' });
      receiver.answer('hang', 'hang');
      let delivered = false;

      const first = await sut.runOnce();
      void sut.settleAlerts().then(() => (delivered = true));
      await receiver.receivedCount(1);
      runtime.setState('app-api', 'exited');
      clock.advance(MINUTE);
      const second = await sut.runOnce();
      await receiver.receivedCount(2);

      expect(first.alerts.map((alert) => `${alert.component}:${alert.kind}`)).toEqual(['web:drift']);
      expect(second.skipped).toBe(false);
      expect(second.alerts.map((alert) => `${alert.component}:${alert.kind}`)).toEqual(['api:drift']);
      expect(delivered).toBe(false);
    });
  });
});
