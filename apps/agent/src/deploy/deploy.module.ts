import { Module } from '@nestjs/common';
import { DeployController } from './deploy.controller';
import { DeployMapper } from './deploy.mapper';
import { DeployService } from './deploy.service';

/** Deploy, SyncDesiredState, PlanDeploy, ListReleases, Rollback; DeployMapper maps proto ↔ domain. Its dependencies come from the global platform and deployer modules. */
@Module({
  controllers: [DeployController],
  providers: [DeployService, DeployMapper],
})
export class DeployModule {}
