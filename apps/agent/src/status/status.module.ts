import { Module } from '@nestjs/common';
import { StatusController } from './status.controller';
import { StatusService } from './status.service';

/** ListServices, GetServiceStatus, LiveCheck, NodeStatus. */
@Module({
  controllers: [StatusController],
  providers: [StatusService],
})
export class StatusModule {}
