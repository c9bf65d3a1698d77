import { Module, type DynamicModule } from '@nestjs/common';
import { LifecycleController } from './lifecycle.controller';
import { LifecycleService } from './lifecycle.service';
import type { Platform } from '../platform.module';

/** Stop, Start, Restart, Undeploy, Purge. */
@Module({
  controllers: [LifecycleController],
  providers: [LifecycleService],
})
export class LifecycleModule {
  /** With the platform modules its providers inject. */
  static register(platform: Platform): DynamicModule {
    return { module: LifecycleModule, imports: [platform.core, platform.registry, platform.runtime, platform.metrics, platform.deployer] };
  }
}
