import { Module, type DynamicModule } from '@nestjs/common';
import { TransferController } from './transfer.controller';
import { TransferService } from './transfer.service';
import type { Platform } from '../platform.module';

/** PushFile, PullFile, Logs. */
@Module({
  controllers: [TransferController],
  providers: [TransferService],
})
export class TransferModule {
  /** With the platform modules its providers inject. */
  static register(platform: Platform): DynamicModule {
    return { module: TransferModule, imports: [platform.core, platform.audit, platform.registry, platform.runtime] };
  }
}
