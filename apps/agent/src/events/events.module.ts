import { Module, type DynamicModule } from '@nestjs/common';
import { EventsController } from './events.controller';
import { EventsService } from './events.service';
import type { Platform } from '../platform.module';

/** Events: the registry's history, followed live (`mcp events -f`). */
@Module({
  controllers: [EventsController],
  providers: [EventsService],
})
export class EventsModule {
  /** With the platform modules its providers inject. */
  static register(platform: Platform): DynamicModule {
    return { module: EventsModule, imports: [platform.registry] };
  }
}
