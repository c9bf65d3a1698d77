import { Module } from '@nestjs/common';
import { EventsController } from './events.controller';
import { EventsService } from './events.service';

/** Events: the registry's history, followed live (`mcp events -f`). */
@Module({
  controllers: [EventsController],
  providers: [EventsService],
})
export class EventsModule {}
