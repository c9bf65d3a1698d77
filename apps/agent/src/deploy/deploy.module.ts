import { Module } from '@nestjs/common';
import { DeployController } from './deploy.controller';
import { DeployService } from './deploy.service';

/** Deploy and SyncDesiredState. Its dependencies come from the global platform and deployer modules. */
@Module({
  controllers: [DeployController],
  providers: [DeployService],
})
export class DeployModule {}
