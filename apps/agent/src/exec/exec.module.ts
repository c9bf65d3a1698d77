import { Module, type DynamicModule } from '@nestjs/common';
import { ExecController } from './exec.controller';
import { ExecService } from './exec.service';
import { RunService } from './run.service';
import type { Platform } from '../platform.module';

/** Exec and Run: commands inside running containers, and one-off containers (SPEC §12). */
@Module({
  controllers: [ExecController],
  providers: [ExecService, RunService],
})
export class ExecModule {
  /** With the platform modules its providers inject. */
  static register(platform: Platform): DynamicModule {
    return { module: ExecModule, imports: [platform.core, platform.audit, platform.registry, platform.runtime, platform.deployer] };
  }
}
