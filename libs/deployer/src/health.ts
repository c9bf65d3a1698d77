import * as http from 'node:http';
import * as net from 'node:net';
import { Injectable } from '@nestjs/common';
import { type ComponentSpec, parseDuration } from '@mcp/common';
import type { RouteRecord } from '@mcp/registry';
import { ContainerRuntime } from '@mcp/runtime';
import { routeEnvName } from '@mcp/servicedef';
import { DeployerOptions } from './deployer-options';

/** What `ps` and `status` show (SPEC §8); `-` when nothing has been probed yet. */
export type HealthStatus = 'healthy' | 'unhealthy' | 'starting' | '-';

export interface HealthTimings {
  intervalMs: number;
  timeoutMs: number;
  startPeriodMs: number;
  /** Consecutive successes needed. */
  healthy: number;
}

export const HEALTH_DEFAULTS: HealthTimings = { intervalMs: 1000, timeoutMs: 2000, startPeriodMs: 60_000, healthy: 1 };

/** The spec's timings in milliseconds, defaults applied (the spec was validated, so they parse). */
export function healthTimings(spec: ComponentSpec): HealthTimings {
  const health = spec.health;
  const ms = (text: string | undefined, fallback: number): number => (text === undefined ? fallback : (parseDuration(text) ?? fallback));
  return {
    intervalMs: ms(health?.interval, HEALTH_DEFAULTS.intervalMs),
    timeoutMs: ms(health?.timeout, HEALTH_DEFAULTS.timeoutMs),
    startPeriodMs: ms(health?.start_period, HEALTH_DEFAULTS.startPeriodMs),
    healthy: health?.healthy ?? HEALTH_DEFAULTS.healthy,
  };
}

export interface ProbeResult {
  ok: boolean;
  /** What was checked and what came back, e.g. `GET /up → 503`, `127.0.0.1:23456: connection refused`. */
  detail: string;
  /** The container is not running: waiting longer cannot help. */
  exited?: boolean;
}

export interface ProbeTarget {
  /** The container to probe (its current name: the temporary one during a start-first deploy). */
  container: string;
  spec: ComponentSpec;
  /** The routes with the host ports this container was given. */
  routes: RouteRecord[];
}

/** The network side of http and tcp probes: a port, so unit tests can fake the host's sockets. */
export abstract class NetworkProbe {
  abstract http(input: { host: string; port: number; path: string; timeoutMs: number }): Promise<ProbeResult>;
  abstract tcp(input: { host: string; port: number; timeoutMs: number }): Promise<ProbeResult>;
}

/** Real sockets: a GET with `connection: close`, or a TCP connect, each bounded by the timeout. */
@Injectable()
export class NodeNetworkProbe extends NetworkProbe {
  http(input: { host: string; port: number; path: string; timeoutMs: number }): Promise<ProbeResult> {
    return httpProbe(input);
  }

  tcp(input: { host: string; port: number; timeoutMs: number }): Promise<ProbeResult> {
    return tcpProbe(input);
  }
}

/**
 * Health probes run by the agent (SPEC §8; podman 4.3's own healthcheck timers need systemd):
 * http (GET on the host port, 2xx/3xx healthy), tcp (a connect), cmd (exec through the runtime
 * port, exit 0 healthy), or the implicit check (running, and every route's host port accepts a
 * connection). Every probe is bounded by the check's timeout.
 */
@Injectable()
export class HealthProber {
  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly options: DeployerOptions,
    private readonly network: NetworkProbe,
  ) {}

  /** One probe. Never throws: a failure to probe is an unhealthy result with the reason. */
  async probe(target: ProbeTarget): Promise<ProbeResult> {
    try {
      const details = await this.runtime.inspect({ name: target.container });
      if (!details) return { ok: false, detail: `container ${target.container} is gone`, exited: true };
      if (details.state !== 'running') {
        return { ok: false, detail: `container ${details.state}${details.exitCode !== undefined ? ` (exit code ${details.exitCode})` : ''}`, exited: true };
      }
      return await this.check(target);
    } catch (err) {
      return { ok: false, detail: (err as Error).message };
    }
  }

  /**
   * The check itself, for a container already known to run (the monitor has it from its one
   * listing, so it asks podman nothing more: http/tcp/implicit checks are sockets only, a
   * `cmd` check one exec). Never throws.
   */
  async check(target: ProbeTarget): Promise<ProbeResult> {
    const { timeoutMs } = healthTimings(target.spec);
    try {
      const health = target.spec.health;
      if (health?.cmd) {
        const result = await this.runtime.execIn({ name: target.container, cmd: health.cmd, timeoutMs });
        const output = result.output.trim().split('\n').pop() ?? '';
        return { ok: result.exitCode === 0, detail: `${health.cmd.join(' ')} → exit ${result.exitCode}${output ? ` (${output})` : ''}` };
      }
      if (health?.http !== undefined || health?.tcp) {
        const port = this.probePort(target);
        if (port === undefined) return { ok: false, detail: 'no host port to probe' };
        if (health.http !== undefined) return await this.network.http({ host: this.options.routeBindAddress, port, path: health.http, timeoutMs });
        return await this.network.tcp({ host: this.options.routeBindAddress, port, timeoutMs });
      }
      for (const route of target.routes) {
        if (route.hostPort === null) continue;
        const result = await this.network.tcp({ host: this.options.routeBindAddress, port: route.hostPort, timeoutMs });
        if (!result.ok) return result;
      }
      return { ok: true, detail: target.routes.length ? 'running; route ports accept connections' : 'running' };
    } catch (err) {
      return { ok: false, detail: (err as Error).message };
    }
  }

  /**
   * Probes every interval until `healthy` consecutive successes (resolves ok), the container
   * exits, or `start_period` passes (resolves with the last failure and how long it waited).
   */
  async waitHealthy(target: ProbeTarget, onWait?: (message: string) => void): Promise<ProbeResult> {
    const timings = healthTimings(target.spec);
    const started = Date.now();
    const probed = this.describeProbe(target);
    let successes = 0;
    let last: ProbeResult = { ok: false, detail: 'not probed' };
    for (;;) {
      last = await this.probe(target);
      successes = last.ok ? successes + 1 : 0;
      if (successes >= timings.healthy) return last;
      if (last.exited) return { ...last, detail: `health check ${describeCheck(target.spec)}: ${last.detail} after ${formatSeconds(Date.now() - started)}` };
      const elapsed = Date.now() - started;
      if (elapsed >= timings.startPeriodMs) {
        const hint = await this.listeningHint(target, last);
        return { ok: false, detail: `health check ${describeCheck(target.spec)}: ${last.detail} after ${formatSeconds(elapsed)}${hint ? `; ${hint}` : ''}` };
      }
      onWait?.(healthWaitMessage({ probed, elapsedMs: elapsed, startPeriodMs: timings.startPeriodMs }));
      await sleep(Math.min(timings.intervalMs, timings.startPeriodMs - elapsed));
    }
  }

  /** What a wait probes, for progress: `tcp 127.0.0.1:21252`, `GET /up on 127.0.0.1:21252`, `cmd /bin/check`. */
  describeProbe(target: ProbeTarget): string {
    const health = target.spec.health;
    if (health?.cmd) return `cmd ${health.cmd.join(' ')}`;
    const host = this.options.routeBindAddress;
    if (health?.http !== undefined || health?.tcp) {
      const port = this.probePort(target);
      const where = port === undefined ? 'no host port' : `${host}:${port}`;
      return health.http !== undefined ? `GET ${health.http} on ${where}` : `tcp ${where}`;
    }
    const ports = target.routes.flatMap((r) => (r.hostPort === null ? [] : [r.hostPort]));
    return ports.length ? `tcp ${ports.map((p) => `${host}:${p}`).join(', ')}` : 'running';
  }

  /**
   * After a refused connection on a route's port (or one reset at once, as a rootless port
   * forwarder that accepted for a container port nobody listens on does): what the container
   * does listen on, read from its own network namespace's /proc/net/tcp{,6} through the
   * runtime's exec (works rootless and root, with either adapter; needs a `cat` in the image,
   * else no hint). Undefined when
   * nothing useful can be said: a `cmd` check, a fixed `port` (a host port `ports` maps to who
   * knows what inside), no route port, or the container does listen there.
   */
  async listeningHint(target: ProbeTarget, last: ProbeResult): Promise<string | undefined> {
    const health = target.spec.health;
    if (health?.cmd || health?.port !== undefined || !REFUSED.test(last.detail)) return undefined;
    const withPorts = target.routes.filter((r) => r.hostPort !== null);
    const route =
      health?.http !== undefined || health?.tcp
        ? health.route !== undefined
          ? withPorts.find((r) => r.name === health.route)
          : (withPorts.find((r) => r.name === '') ?? withPorts[0])
        : (withPorts.find((r) => last.detail.includes(`:${r.hostPort}:`)) ?? withPorts[0]);
    if (!route || route.hostPort === null) return undefined;
    const specRoute = target.spec.routes.find((r) => (r.name ?? '') === route.name) ?? { name: route.name || undefined, port: route.port, mode: route.mode };
    try {
      const variable = routeEnvName(specRoute, target.spec);
      const result = await this.runtime.execIn({ name: target.container, cmd: ['cat', '/proc/net/tcp', '/proc/net/tcp6'], timeoutMs: 2000 });
      if (!result.output.includes('local_address')) return undefined;
      return listeningHintText({ variable, port: route.hostPort, listening: listeningPorts(result.output) });
    } catch {
      return undefined;
    }
  }

  /** The host port an http/tcp check probes: `port`, else the named route, else the unnamed route, else the first. */
  private probePort(target: ProbeTarget): number | undefined {
    const health = target.spec.health;
    if (health?.port !== undefined) return health.port;
    const routes = target.routes;
    const route = health?.route !== undefined ? routes.find((r) => r.name === health.route) : (routes.find((r) => r.name === '') ?? routes[0]);
    return route?.hostPort ?? undefined;
  }
}

/** `GET /up`, `tcp`, `cmd /bin/check`, or `implicit`: for messages. */
export function describeCheck(spec: ComponentSpec): string {
  const health = spec.health;
  if (health?.http !== undefined) return `GET ${health.http}`;
  if (health?.tcp) return 'tcp connect';
  if (health?.cmd) return `cmd ${health.cmd.join(' ')}`;
  return '(implicit)';
}

/** A probe's failure that may mean nothing listens on the port inside the container. */
const REFUSED = /ECONNREFUSED|ECONNRESET|socket hang up/;

/** `waiting for health (tcp 127.0.0.1:21252) 12s/60s`: the deploy's progress line for a component. */
export function healthWaitMessage(input: { probed: string; elapsedMs: number; startPeriodMs: number }): string {
  const period = input.startPeriodMs % 1000 === 0 ? `${input.startPeriodMs / 1000}s` : `${(input.startPeriodMs / 1000).toFixed(1)}s`;
  return `waiting for health (${input.probed}) ${Math.floor(input.elapsedMs / 1000)}s/${period}`;
}

/** The ports in LISTEN state (st 0A) in /proc/net/tcp and tcp6 text, sorted, each once. */
export function listeningPorts(procNetTcp: string): number[] {
  const ports = new Set<number>();
  for (const line of procNetTcp.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 4 || fields[3] !== '0A') continue;
    const match = /:([0-9A-Fa-f]{4})$/.exec(fields[1]);
    if (match) ports.add(parseInt(match[1], 16));
  }
  return [...ports].sort((a, b) => a - b);
}

/** `nothing listens on $PORT=21252; the container listens on 8080 — does the program read $PORT?` */
export function listeningHintText(input: { variable?: string; port: number; listening: number[] }): string | undefined {
  const variable = `$${input.variable ?? 'PORT'}`;
  if (input.listening.includes(input.port)) return undefined;
  if (input.listening.length === 0) return `nothing listens on ${variable}=${input.port}, nor on any other port in the container`;
  return `nothing listens on ${variable}=${input.port}; the container listens on ${input.listening.join(', ')} — does the program read ${variable}?`;
}

function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10}s`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

function httpProbe(input: { host: string; port: number; path: string; timeoutMs: number }): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const request = http.get({ host: input.host, port: input.port, path: input.path, timeout: input.timeoutMs, agent: false, headers: { connection: 'close' } }, (response) => {
      response.resume();
      const status = response.statusCode ?? 0;
      resolve({ ok: status >= 200 && status < 400, detail: `GET ${input.path} → ${status}` });
    });
    request.on('timeout', () => {
      request.destroy();
      resolve({ ok: false, detail: `GET ${input.path}: no answer within ${input.timeoutMs} ms` });
    });
    request.on('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, detail: `GET ${input.path}: ${err.code ?? err.message}` }));
  });
}

function tcpProbe(input: { host: string; port: number; timeoutMs: number }): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: input.host, port: input.port });
    const done = (result: ProbeResult): void => {
      socket.destroy();
      clearTimeout(timer);
      resolve(result);
    };
    const timer = setTimeout(() => done({ ok: false, detail: `${input.host}:${input.port}: no connection within ${input.timeoutMs} ms` }), input.timeoutMs);
    socket.once('connect', () => done({ ok: true, detail: `${input.host}:${input.port} accepts connections` }));
    socket.once('error', (err: NodeJS.ErrnoException) => done({ ok: false, detail: `${input.host}:${input.port}: ${err.code ?? err.message}` }));
  });
}

export interface HealthEntry {
  status: HealthStatus;
  detail: string;
  since: Date;
}

/**
 * The agent's current health per component, in memory: set by deploys (starting, then the
 * outcome) and by the monitor's probes; read by `ps`, `status` and metrics. After an agent
 * restart every component is `-` until its first probe.
 */
@Injectable()
export class HealthStates {
  private readonly entries = new Map<string, HealthEntry>();

  get(input: { service: string; component: string }): HealthEntry | undefined {
    return this.entries.get(key(input));
  }

  status(input: { service: string; component: string }): HealthStatus {
    return this.get(input)?.status ?? '-';
  }

  /** Returns the previous status, so a caller can tell a transition. */
  set(input: { service: string; component: string; status: HealthStatus; detail: string; now?: Date }): HealthStatus {
    const previous = this.status(input);
    const current = this.entries.get(key(input));
    if (current && current.status === input.status) {
      current.detail = input.detail;
    } else {
      this.entries.set(key(input), { status: input.status, detail: input.detail, since: input.now ?? new Date() });
    }
    return previous;
  }

  forget(input: { service: string; component: string }): void {
    this.entries.delete(key(input));
  }

  all(): Array<{ service: string; component: string } & HealthEntry> {
    return [...this.entries].map(([k, entry]) => {
      const [service, component] = k.split('/');
      return { service, component, ...entry };
    });
  }
}

function key(input: { service: string; component: string }): string {
  return `${input.service}/${input.component}`;
}
