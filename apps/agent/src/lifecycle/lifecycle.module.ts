import { Module } from '@nestjs/common';
import { LifecycleController } from './lifecycle.controller';
import { LifecycleService } from './lifecycle.service';

/** Stop, Start, Restart, Undeploy, Purge. */
@Module({
  controllers: [LifecycleController],
  providers: [LifecycleService],
})
export class LifecycleModule {}
