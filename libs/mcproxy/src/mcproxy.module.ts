import { DynamicModule, Module } from '@nestjs/common';
import { GrpcRouteRegistrar } from './grpc-route-registrar';
import { NoopRouteRegistrar } from './noop-route-registrar';
import { RouteRegistrar } from './route-registrar';

export interface McproxyModuleOptions {
  /** `[mcproxy] socket`; route registration is skipped when absent or empty. */
  socket?: string;
  /** Per-call deadline; default 5 s. */
  deadlineMs?: number;
}

/** Binds the RouteRegistrar port: gRPC on the admin socket when configured, else a no-op. */
@Module({})
export class McproxyModule {
  static forRoot(options: McproxyModuleOptions = {}): DynamicModule {
    const socket = options.socket?.trim();
    return {
      module: McproxyModule,
      providers: [
        {
          provide: RouteRegistrar,
          useFactory: (): RouteRegistrar =>
            socket
              ? new GrpcRouteRegistrar({ socketPath: socket, deadlineMs: options.deadlineMs })
              : new NoopRouteRegistrar(),
        },
      ],
      exports: [RouteRegistrar],
    };
  }
}
