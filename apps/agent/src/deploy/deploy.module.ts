import { Module, type DynamicModule } from '@nestjs/common';
import { DeployController } from './deploy.controller';
import { DeployMapper } from './deploy.mapper';
import { DeployService } from './deploy.service';
import type { Platform } from '../platform.module';

/** Deploy, SyncDesiredState, PlanDeploy, ListReleases, Rollback; DeployMapper maps proto ↔ domain. Its dependencies come from the global platform and deployer modules. */
@Module({
  controllers: [DeployController],
  providers: [DeployService, DeployMapper],
})
export class DeployModule {
  /** With the platform modules its providers inject. */
  static register(platform: Platform): DynamicModule {
    return { module: DeployModule, imports: [platform.registry, platform.runtime, platform.metrics, platform.alerts, platform.deployer] };
  }
}
