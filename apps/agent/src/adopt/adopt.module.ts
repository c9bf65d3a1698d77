import { Module, type DynamicModule } from '@nestjs/common';
import { AdoptController } from './adopt.controller';
import { AdoptService } from './adopt.service';
import type { Platform } from '../platform.module';

/** AdoptContainers. */
@Module({
  controllers: [AdoptController],
  providers: [AdoptService],
})
export class AdoptModule {
  /** With the platform modules its providers inject. */
  static register(platform: Platform): DynamicModule {
    return { module: AdoptModule, imports: [platform.registry, platform.runtime, platform.deployer] };
  }
}
