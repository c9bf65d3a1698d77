import { Module, type DynamicModule } from '@nestjs/common';
import { ReleaseMarker } from './release-marker';
import { UpgradeController } from './upgrade.controller';
import { AgentExit, DiskSpace, SignalAgentExit, StatfsDiskSpace, UpgradeService } from './upgrade.service';
import type { Platform } from '../platform.module';

/** UpgradeAgent, RollbackAgent, and marking the running release good (SPEC §16). */
@Module({
  controllers: [UpgradeController],
  providers: [UpgradeService, ReleaseMarker, { provide: DiskSpace, useClass: StatfsDiskSpace }, { provide: AgentExit, useClass: SignalAgentExit }],
})
export class UpgradeModule {
  /** With the platform modules its providers inject. */
  static register(platform: Platform): DynamicModule {
    return { module: UpgradeModule, imports: [platform.core, platform.audit, platform.registry, platform.runtime] };
  }
}
