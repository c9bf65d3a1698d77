import { Module } from '@nestjs/common';
import { StatusController } from './status.controller';
import { StatusMapper } from './status.mapper';
import { StatusService } from './status.service';

/** ListServices, GetServiceStatus, LiveCheck, NodeStatus. */
@Module({
  controllers: [StatusController],
  providers: [StatusService, StatusMapper],
})
export class StatusModule {}
