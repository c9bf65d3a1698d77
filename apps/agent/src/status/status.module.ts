import { Module, type DynamicModule } from '@nestjs/common';
import { StatusController } from './status.controller';
import { StatusMapper } from './status.mapper';
import { StatusService } from './status.service';
import type { Platform } from '../platform.module';

/** ListServices, GetServiceStatus, LiveCheck, NodeStatus. */
@Module({
  controllers: [StatusController],
  providers: [StatusService, StatusMapper],
})
export class StatusModule {
  /** With the platform modules its providers inject. */
  static register(platform: Platform): DynamicModule {
    return { module: StatusModule, imports: [platform.core, platform.registry, platform.runtime, platform.deployer] };
  }
}
