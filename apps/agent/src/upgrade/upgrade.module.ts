import { Module } from '@nestjs/common';
import { ReleaseMarker } from './release-marker';
import { UpgradeController } from './upgrade.controller';
import { AgentExit, DiskSpace, SignalAgentExit, StatfsDiskSpace, UpgradeService } from './upgrade.service';

/** UpgradeAgent, RollbackAgent, and marking the running release good (SPEC §16). */
@Module({
  controllers: [UpgradeController],
  providers: [UpgradeService, ReleaseMarker, { provide: DiskSpace, useClass: StatfsDiskSpace }, { provide: AgentExit, useClass: SignalAgentExit }],
})
export class UpgradeModule {}
