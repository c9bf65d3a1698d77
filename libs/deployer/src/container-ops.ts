import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { LABEL_COMPONENT, LABEL_MANAGED, LABEL_RUN, LABEL_RUN_OWNER, LABEL_SERVICE, LABEL_SPEC_HASH, ContainerRuntime, type LogChunk, type RunOptions } from '@mcp/runtime';
import { InvalidArgumentError, type ComponentSpec } from '@mcp/common';
import type { RouteRecord } from '@mcp/registry';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { fieldDef, fieldKeys, isServiceRelativeSource, resolveVolume, routeEnvName, stopSeconds, type RunContext } from '@mcp/servicedef';
import { DeployerOptions } from './deployer-options';
import { podmanSecretName } from './service-secrets';

/** A one-off container (run, job run, hook) while it runs. */
export interface OneOffContainer {
  name: string;
  service: string;
  /** The component whose spec it runs. */
  component: string;
  /** `run`, `job:<name>` or `hook:pre_deploy`. */
  kind: string;
  image: string;
  startedAt: Date;
}

/** Container steps several features share: "stop then remove" and "run a component". */
@Injectable()
export class ContainerOps {
  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly options: DeployerOptions,
  ) {}

  /**
   * Stops (bounded by the stop timeout of `spec`, the spec the container was created from,
   * else the agent's) and removes a container; a missing one is fine.
   */
  async stopAndRemove(input: { name: string; spec?: ComponentSpec }): Promise<void> {
    await this.runtime.remove({ name: input.name, timeoutSeconds: this.stopSeconds(input.spec) });
  }

  /** The component's `stop_timeout` in seconds, else the agent's `stop_timeout`. */
  stopSeconds(spec: ComponentSpec | undefined): number {
    return stopSeconds(spec?.stop_timeout) ?? this.options.stopTimeoutSeconds;
  }

  /**
   * The spec's volumes as podman gets them here: a `./` source (SPEC §15) under
   * `<srvRoot>/<service>/`, refused when it would leave that directory.
   */
  volumes(input: { service: string; spec: Pick<ComponentSpec, 'volumes'> }): string[] {
    const serviceDir = path.posix.join(this.options.srvRoot ?? '/srv', input.service);
    return input.spec.volumes.map((volume) => {
      const resolved = resolveVolume(volume, serviceDir);
      const source = resolved.split(':')[0];
      if (isServiceRelativeSource(volume.split(':')[0]) && source !== serviceDir && !source.startsWith(`${serviceDir}/`)) {
        throw new InvalidArgumentError(`volume "${volume}" of service ${input.service} leaves the service's directory ${serviceDir}/`);
      }
      return resolved;
    });
  }

  /**
   * volumes() for a container about to be created: a `./` source that does not exist yet is
   * made as a directory (inside the service's directory, which volumes() has checked), as
   * compose does for a bind mount, so a definition imported or moved with `./data` runs on a
   * node that has no data yet. Absolute sources are left to podman (a missing one is an error).
   */
  async mountVolumes(input: { service: string; spec: Pick<ComponentSpec, 'volumes'> }): Promise<string[]> {
    const resolved = this.volumes(input);
    for (const [index, volume] of input.spec.volumes.entries()) {
      if (!isServiceRelativeSource(volume.split(':')[0])) continue;
      await fs.mkdir(resolved[index].split(':')[0], { recursive: true, mode: 0o750 });
    }
    return resolved;
  }

  /** `PORT` / `PORT_<NAME>` for each route with a host port: the app listens there. */
  routeEnv(input: { spec: ComponentSpec; routes: RouteRecord[] }): string[] {
    return input.routes
      .filter((route) => route.hostPort !== null)
      .map((route) => {
        const specRoute = input.spec.routes.find((r) => (r.name ?? '') === route.name) ?? { name: route.name || undefined, port: route.port, mode: route.mode };
        return `${routeEnvName(specRoute, input.spec)}=${route.hostPort}`;
      });
  }

  /**
   * Creates and starts the component's container with the spec's options, explicit ports,
   * `-p <bind>:<hostPort>:<hostPort>` per route, the route env and MCP's labels.
   */
  async runComponent(input: {
    /** The canonical name, or the temporary one a start-first deploy runs the new container under. */
    name: string;
    service: string;
    spec: ComponentSpec;
    routes: RouteRecord[];
    specHash: string;
    /** Default `spec.image`; a rollback runs `repo@digest` when the tag moved since. */
    image?: string;
  }): Promise<string> {
    const { spec } = input;
    const routePorts = input.routes
      .filter((route) => route.hostPort !== null)
      .map((route) => `${this.options.bindAddress}:${route.hostPort}:${route.hostPort}`);
    const options = this.runOptions({
      service: input.service,
      spec,
      context: { image: input.image, routePorts, routeEnv: this.routeEnv({ spec, routes: input.routes }), volumes: await this.mountVolumes({ service: input.service, spec }) },
      labels: {
        [LABEL_MANAGED]: 'true',
        [LABEL_SERVICE]: input.service,
        [LABEL_COMPONENT]: spec.name,
        [LABEL_SPEC_HASH]: input.specHash,
      },
    });
    return this.runtime.run({ ...options, name: input.name });
  }

  /**
   * The run options of a component: each field's `run` in COMPONENT_FIELDS (@mcp/servicedef),
   * lists of several fields joined in the table's order (the spec's ports, then the routes';
   * file secrets, then env secrets).
   */
  private runOptions(input: { service: string; spec: ComponentSpec; context: Omit<RunContext, 'podmanSecret'>; labels: Record<string, string> }): Omit<RunOptions, 'name'> {
    const context: RunContext = { ...input.context, podmanSecret: (name) => podmanSecretName(input.service, name) };
    const options: Omit<RunOptions, 'name'> & Record<string, unknown> = { image: input.spec.image, ports: [], volumes: [], env: [], cmd: [], labels: input.labels };
    for (const key of fieldKeys()) {
      for (const [option, value] of Object.entries(fieldDef(key).run?.(input.spec[key], context) ?? {})) {
        const before = options[option];
        options[option] = Array.isArray(before) && Array.isArray(value) ? [...before, ...value] : value;
      }
    }
    return options;
  }

  /**
   * A one-off container of a component's spec (SPEC §12 run, hooks, jobs): its image, env,
   * secrets, volumes, network, user and limits — no routes, no host ports, no restart —
   * named `<svc>-<comp>-run-<8 hex>` and labelled LABEL_RUN (so the live state leaves it out),
   * its output handed to `onOutput` as it comes (awaited: a slow consumer slows the
   * container, memory stays bounded). Killed past `timeoutMs` or when `signal` aborts;
   * removed afterwards whatever happened. `onStarted` hears the name once it runs.
   */
  async runOneOff(input: {
    service: string;
    spec: ComponentSpec;
    /** `run` or `job:<name>` / `hook:pre_deploy`. */
    kind: string;
    cmd?: string[];
    image?: string;
    /** KEY=VALUE on top of the spec's (a key given here wins). */
    env?: string[];
    timeoutMs: number;
    signal?: AbortSignal;
    onStarted?: (name: string) => Promise<void> | void;
    onOutput: (chunk: LogChunk) => Promise<void> | void;
  }): Promise<{ name: string; exitCode: number; timedOut: boolean; aborted: boolean }> {
    const { spec } = input;
    const name = `${input.service}-${spec.name}-run-${randomBytes(4).toString('hex')}`;
    const extra = input.env ?? [];
    const overridden = new Set(extra.map((entry) => entry.slice(0, entry.indexOf('='))));
    const env = [...spec.env.filter((entry) => !overridden.has(entry.slice(0, entry.indexOf('=')))), ...extra];
    const cmd = input.cmd?.length ? input.cmd : spec.cmd;
    const abort = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, input.timeoutMs);
    const onAbort = (): void => abort.abort();
    input.signal?.addEventListener('abort', onAbort, { once: true });
    if (input.signal?.aborted) abort.abort();
    try {
      // The component's run options without its routes, host ports, restart policy or stop settings.
      const options = this.runOptions({
        service: input.service,
        spec,
        context: { image: input.image || spec.image, routePorts: [], routeEnv: [], volumes: await this.mountVolumes({ service: input.service, spec }) },
        labels: { [LABEL_RUN]: input.kind, [LABEL_SERVICE]: input.service, [LABEL_COMPONENT]: spec.name, ...(this.options.runOwner ? { [LABEL_RUN_OWNER]: this.options.runOwner } : {}) },
      });
      // Cancelled before it started (a stop, the caller gone): no container at all.
      if (abort.signal.aborted) return { name, exitCode: timedOut ? 124 : 137, timedOut, aborted: !timedOut };
      await this.runtime.run({ ...options, name, ports: [], env, cmd: [...cmd], restart: undefined, stopSignal: undefined, stopTimeoutSeconds: undefined });
      this.oneOffs.set(name, { name, service: input.service, component: spec.name, kind: input.kind, image: input.image || spec.image, startedAt: new Date() });
      await input.onStarted?.(name);
      // Follows until the container stops; a kill (timeout, abort) ends it too.
      const killOnAbort = (): void => void this.runtime.remove({ name, timeoutSeconds: 0 }).catch(() => undefined);
      abort.signal.addEventListener('abort', killOnAbort, { once: true });
      if (!abort.signal.aborted) {
        for await (const chunk of this.runtime.logs({ name, follow: true, signal: abort.signal })) {
          await input.onOutput(chunk);
          if (abort.signal.aborted) break;
        }
      }
      let exitCode = timedOut ? 124 : 137;
      if (!abort.signal.aborted) {
        // podman ends a followed log as the container stops; its exit code is then recorded.
        for (let i = 0; i < 100; i++) {
          const details = await this.runtime.inspect({ name });
          if (!details || (details.state !== 'running' && details.state !== 'created')) {
            exitCode = details?.exitCode ?? 0;
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
      return { name, exitCode, timedOut, aborted: abort.signal.aborted && !timedOut };
    } finally {
      clearTimeout(timer);
      input.signal?.removeEventListener('abort', onAbort);
      await this.runtime.remove({ name, timeoutSeconds: 0 }).catch(() => undefined);
      this.oneOffs.delete(name);
    }
  }

  /**
   * Removes the one-off containers a previous process of this agent left behind (it was
   * killed while they ran: their clients, deploys or schedules died with it). Answers their names.
   */
  /** The one-off containers this process runs now (`mcp ps` lists them with their KIND). */
  runningOneOffs(): OneOffContainer[] {
    return [...this.oneOffs.values()].map((entry) => ({ ...entry }));
  }

  private readonly oneOffs = new Map<string, OneOffContainer>();

  removeLeftoverRunsAtStart(): Promise<string[]> {
    // Once per process: whoever asks first (runs, jobs) removes them; the others wait for it,
    // so no one-off container started after the agent came up is taken for a leftover.
    return (this.leftoversAtStart ??= this.removeLeftoverRuns());
  }

  private leftoversAtStart?: Promise<string[]>;

  async removeLeftoverRuns(): Promise<string[]> {
    const owner = this.options.runOwner;
    if (!owner) return [];
    const leftovers = (await this.runtime.list()).filter((container) => container.labels[LABEL_RUN] && container.labels[LABEL_RUN_OWNER] === owner);
    for (const container of leftovers) await this.runtime.remove({ name: container.name, timeoutSeconds: 0 });
    return leftovers.map((container) => container.name);
  }
}
