import { Module, type DynamicModule } from '@nestjs/common';
import { JobsController } from './jobs.controller';
import { JobsService } from './jobs.service';
import type { Platform } from '../platform.module';

/** Scheduled one-off work of services (SPEC §12 `[[jobs]]`): schedules, runs, history. */
@Module({
  controllers: [JobsController],
  providers: [JobsService],
})
export class JobsModule {
  /** With the platform modules its providers inject. */
  static register(platform: Platform): DynamicModule {
    return { module: JobsModule, imports: [platform.core, platform.registry, platform.metrics, platform.alerts, platform.deployer] };
  }
}
