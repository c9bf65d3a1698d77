import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { InvalidArgumentError, NotFoundError, ServiceNotFoundError } from '@mcp/common';
import { ContainerOps } from '@mcp/deployer';
import { ServiceRegistry } from '@mcp/registry';
import type { StreamSink } from '../streaming/stream-call';

/** What `mcp run` asks for. */
export interface RunQuery {
  service: string;
  /** '' for the only component. */
  component: string;
  cmd: string[];
  /** '' for the component's image. */
  image: string;
  env: string[];
  /** 0 for DEFAULT_RUN_TIMEOUT_SECONDS. */
  timeoutSeconds: number;
}

/** What a run sends: its container's name first, then its output, its exit code last. */
export type RunOutput = { container: string } | { stdout: Buffer } | { stderr: Buffer } | { exitCode: number };

/** How long a run may take when the request gives no timeout (SPEC §12: as a job's default). */
export const DEFAULT_RUN_TIMEOUT_SECONDS = 3600;
const ENV_ENTRY = /^[A-Za-z_][A-Za-z0-9_]*=/;

/**
 * SPEC §12 `mcp run`: one one-off container of a component's spec, its output streamed as
 * the client takes it, its exit status last, and the container removed afterwards — also
 * when the client goes away (the call's cancellation aborts the run) and at the latest at
 * the run's timeout.
 */
@Injectable()
export class RunService implements OnApplicationBootstrap {
  private readonly logger = new Logger(RunService.name);

  constructor(
    private readonly registry: ServiceRegistry,
    private readonly containers: ContainerOps,
  ) {}

  /** One-off containers of a previous process of this agent (killed mid-run) are removed at start. */
  async onApplicationBootstrap(): Promise<void> {
    try {
      const removed = await this.containers.removeLeftoverRunsAtStart();
      if (removed.length) this.logger.warn(`removed ${removed.length} one-off container(s) left by a previous agent process: ${removed.join(', ')}`);
    } catch (error) {
      this.logger.error(`could not remove one-off containers left by a previous agent process: ${(error as Error).message}`);
    }
  }

  async run(input: { request: RunQuery; sink: StreamSink<RunOutput> }): Promise<void> {
    const { request, sink } = input;
    const { signal } = sink;
    const record = await this.registry.getService(request.service);
    if (!record) throw new ServiceNotFoundError(request.service);
    const chosen = request.component
      ? record.components.find((candidate) => candidate.name === request.component)
      : record.components.length === 1
        ? record.components[0]
        : undefined;
    if (!chosen) {
      if (!request.component) throw new InvalidArgumentError(`service "${request.service}" has ${record.components.length} components: name one (${request.service}/<component>)`);
      throw new NotFoundError(`component "${request.service}/${request.component}" not found (components: ${record.components.map((c) => c.name).join(', ')})`);
    }
    for (const entry of request.env) {
      if (!ENV_ENTRY.test(entry)) throw new InvalidArgumentError(`--env "${entry.slice(0, 64)}": expected KEY=VALUE`);
    }
    if (request.cmd.some((arg) => arg.includes('\0'))) throw new InvalidArgumentError('a command argument contains a NUL byte');
    const timeoutSeconds = request.timeoutSeconds || DEFAULT_RUN_TIMEOUT_SECONDS;
    const result = await this.containers.runOneOff({
      service: request.service,
      spec: chosen.spec,
      kind: 'run',
      cmd: request.cmd,
      image: request.image || undefined,
      env: request.env,
      timeoutMs: timeoutSeconds * 1000,
      signal,
      onStarted: (name) => sink.send({ container: name }),
      onOutput: (chunk) => sink.send(chunk.stream === 'stdout' ? { stdout: chunk.data } : { stderr: chunk.data }),
    });
    if (signal.aborted) return;
    if (result.timedOut) await sink.send({ stderr: Buffer.from(`mcp: run killed after its timeout of ${timeoutSeconds}s\n`) });
    await sink.send({ exitCode: result.exitCode });
  }
}
