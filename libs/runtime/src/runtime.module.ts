import { DynamicModule, Logger, Module } from '@nestjs/common';
import { ContainerRuntime } from './container-runtime';
import { LibpodRestRuntime } from './libpod-rest.runtime';
import { LiveContainers, noticingWrites } from './live-containers';
import { PodmanService } from './podman.service';
import { PodmanRuntime, PodmanRuntimeOptions } from './podman.runtime';

/**
 * `cli`: a podman process per call (PodmanRuntime). `rest`: podman's REST API (LibpodRestRuntime)
 * on an existing socket or a supervised `podman system service`; start-up fails when neither
 * works. `auto`: `rest` when it works, else `cli`.
 */
export type RuntimeAdapterKind = 'cli' | 'rest' | 'auto';

export interface RuntimeModuleOptions extends PodmanRuntimeOptions {
  /** Default `cli`: callers that give no adapter keep the CLI adapter until they opt in. */
  adapter?: RuntimeAdapterKind;
  /**
   * For `rest`/`auto`: the API socket to use if it answers, else where to start a supervised
   * service. Default: podman's own socket ($XDG_RUNTIME_DIR/podman/podman.sock rootless,
   * /run/podman/podman.sock as root) if it answers, else a private one in a temporary folder.
   */
  socketPath?: string;
  /** For `rest`/`auto`: whether a service may be started; default true. */
  startService?: boolean;
  /**
   * Whether LiveContainers follows podman's event stream from application bootstrap (the
   * agent does); default false: every LiveContainers read is then a listing.
   */
  followEvents?: boolean;
}

const logger = new Logger('RuntimeModule');

/** The adapter itself, before its writes are noticed (private to this module). */
const PODMAN_ADAPTER = Symbol('PODMAN_ADAPTER');

/**
 * Binds the ContainerRuntime port to podman, through the CLI or the REST API (the adapter
 * classes stay private), and provides LiveContainers, the containers kept from its events.
 * A supervised podman service is stopped on module destroy.
 */
@Module({})
export class RuntimeModule {
  static forRoot(options: RuntimeModuleOptions): DynamicModule {
    return {
      module: RuntimeModule,
      providers: [
        {
          provide: PodmanService,
          useFactory: () =>
            new PodmanService({
              podmanPath: options.podmanPath,
              env: options.env,
              socketPath: options.socketPath,
              startService: options.startService,
            }),
        },
        {
          provide: PODMAN_ADAPTER,
          inject: [PodmanService],
          useFactory: (service: PodmanService) => createRuntime(options, service),
        },
        {
          provide: LiveContainers,
          inject: [PODMAN_ADAPTER],
          useFactory: (runtime: ContainerRuntime) => new LiveContainers(runtime, { follow: options.followEvents }),
        },
        {
          // The agent's own container changes make the next LiveContainers read list, so a
          // read after a deploy, stop or rename sees it even before podman's events arrive.
          provide: ContainerRuntime,
          inject: [PODMAN_ADAPTER, LiveContainers],
          useFactory: (runtime: ContainerRuntime, live: LiveContainers) => noticingWrites(runtime, () => live.invalidate()),
        },
      ],
      exports: [ContainerRuntime, LiveContainers],
    };
  }
}

/** Chooses and builds the adapter; the PodmanService is only started for `rest` and `auto`. */
export async function createRuntime(options: RuntimeModuleOptions, service: PodmanService): Promise<ContainerRuntime> {
  const { adapter = 'cli', socketPath: _socketPath, startService: _startService, followEvents: _followEvents, ...cliOptions } = options;
  if (adapter === 'cli') return new PodmanRuntime(cliOptions);
  let socketPath: string;
  try {
    socketPath = await service.start();
  } catch (error) {
    if (adapter === 'rest') throw error;
    logger.warn(`container runtime: podman CLI (the REST API is unavailable: ${(error as Error).message})`);
    return new PodmanRuntime(cliOptions);
  }
  logger.log(
    `container runtime: podman REST API on ${socketPath} (${service.supervised ? 'service started here' : 'existing service'})`,
  );
  return new LibpodRestRuntime({
    socketPath,
    defaultStopTimeoutSeconds: options.defaultStopTimeoutSeconds,
    requestTimeoutMs: options.commandTimeoutMs,
    podmanPath: options.podmanPath,
    env: options.env,
    pullTimeoutMs: options.pullTimeoutMs,
  });
}
