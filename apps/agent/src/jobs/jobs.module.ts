import { Module } from '@nestjs/common';
import { JobsController } from './jobs.controller';
import { JobsService } from './jobs.service';

/** Scheduled one-off work of services (SPEC §12 `[[jobs]]`): schedules, runs, history. */
@Module({
  controllers: [JobsController],
  providers: [JobsService],
})
export class JobsModule {}
