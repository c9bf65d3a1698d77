import { Module, type DynamicModule } from '@nestjs/common';
import { ImagesController } from './images.controller';
import { ImagesService } from './images.service';
import type { Platform } from '../platform.module';

/** ImageBlobs, PushImage: images pushed from a workstation without a registry (SPEC §13). */
@Module({
  controllers: [ImagesController],
  providers: [ImagesService],
})
export class ImagesModule {
  /** With the platform modules its providers inject. */
  static register(platform: Platform): DynamicModule {
    return { module: ImagesModule, imports: [platform.core, platform.audit, platform.runtime] };
  }
}
